using System.Net;
using System.Security.Cryptography;
using Pipelines.Storage.Azure;
using Pipelines.Testing;

namespace Pipelines.Storage.Tests.Azure;

/// <summary>
/// Faults against a real Azurite of this fixture's own (it gets stopped and restarted): the service going
/// away in the middle of a multi-block upload, and bytes corrupted on the way back.
/// </summary>
[NonParallelizable]
public sealed class AzureFaultTests
{
    private const int Block = 64 << 10;
    private AzuriteServer _azurite = null!;

    [OneTimeSetUp]
    public async Task Start() => _azurite = await AzuriteServer.StartNewAsync();

    [OneTimeTearDown]
    public async Task Stop() => await _azurite.DisposeAsync();

    [SetUp]
    public async Task EnsureRunning()
    {
        // A test that stopped Azurite and failed before restarting it must not break the next one.
        try { using var c = new System.Net.Sockets.TcpClient(); await c.ConnectAsync(IPAddress.Loopback, _azurite.Port); }
        catch (System.Net.Sockets.SocketException) { await _azurite.StartAsync(); }
    }

    private static byte[] Data(int n)
    {
        var b = new byte[n];
        new Random(42).NextBytes(b);
        return b;
    }

    private AzureBlobStore Store(string container, HttpMessageHandler? handler = null, RetryPolicy? retry = null, List<string>? log = null) =>
        new(BlobConnection.Parse(_azurite.ConnectionString(container)), new BlobClientOptions
        {
            BlockSize = Block,
            MaxBlocksInFlight = 2,
            Handler = handler,
            Retry = retry ?? new RetryPolicy(),
            Log = log is null ? null : line => { lock (log) log.Add(line); },
        });

    /// <summary>
    /// Fails requests while Azurite is down, and holds each failure until the restart has finished: the retry
    /// that follows meets a running service however long the restart takes on a loaded machine, so load changes
    /// the test's duration, never its verdict. A restart that fails surfaces with Azurite's own output.
    /// </summary>
    private sealed class Outage(AzuriteServer azurite, Func<AzuriteServer, Task> bringDown)
    {
        private int _blocksDone;
        private int _down;
        private readonly TaskCompletionSource _failureSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _restarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool WentDown => Volatile.Read(ref _down) == 1;
        public Task Restarted => _restarted.Task;

        public HookHandler Handler(int afterBlocks) => new(async (req, send, ct) =>
        {
            HttpResponseMessage resp;
            try
            {
                resp = await send();
            }
            catch (HttpRequestException) when (WentDown)
            {
                _failureSeen.TrySetResult();
                await _restarted.Task; // throws the restart's own failure instead of a retry that cannot succeed
                throw;
            }
            if (HookHandler.IsPutBlock(req) && resp.IsSuccessStatusCode && Interlocked.Increment(ref _blocksDone) == afterBlocks && Interlocked.Exchange(ref _down, 1) == 0)
            {
                await bringDown(azurite);
                // Restart once a client request has failed, so the outage is certainly seen.
                _ = Task.Run(async () =>
                {
                    await _failureSeen.Task;
                    try
                    {
                        await azurite.StartAsync();
                        _restarted.SetResult();
                    }
                    catch (Exception e)
                    {
                        _restarted.SetException(e);
                    }
                });
            }
            return resp;
        });

        /// <summary>Fails the test with the restart's own error when the restart is what went wrong.</summary>
        public void ThrowIfRestartFailed()
        {
            if (_restarted.Task.IsFaulted) Assert.Fail("restarting Azurite failed: " + _restarted.Task.Exception!.InnerException!.Message);
        }
    }

    [Test]
    public async Task Upload_WhenAzuriteStopsMidway_RetriesAndCompletesAfterRestart()
    {
        var container = AzuriteFixture.NewContainer();
        var data = Data(12 * Block + 7);
        var outage = new Outage(_azurite, a => a.StopAsync());
        var log = new List<string>();
        using var store = Store(container, outage.Handler(afterBlocks: 3), new RetryPolicy { MaxAttempts = 6, InitialDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromMilliseconds(500) }, log);

        StoredObject stored;
        try { stored = await store.CreateAsync("model/big.bin", new MemoryStream(data)); }
        catch (ArtifactStoreException)
        {
            outage.ThrowIfRestartFailed();
            throw;
        }

        Assert.That(outage.WentDown, Is.True, "Azurite was stopped during the upload");
        await outage.Restarted;
        Assert.That(log, Has.Some.Contains("connection failed"), "the outage was retried");
        using var fresh = Store(container);
        Assert.That(await fresh.ReadAllBytesAsync("model/big.bin"), Is.EqualTo(data));
        Assert.That(stored.Sha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(data))));
    }

    [Test]
    public async Task AFailedRestart_IsReportedWithAzuritesOwnOutput()
    {
        // Another process takes the port while Azurite is down: the restart must say so, not time out silently.
        await _azurite.StopAsync();
        using var squatter = new System.Net.Sockets.TcpListener(IPAddress.Loopback, _azurite.Port);
        squatter.Start();
        _azurite.PortWait = TimeSpan.FromSeconds(2); // the squatter never leaves: the verdict does not depend on this bound
        try
        {
            var e = Assert.ThrowsAsync<InvalidOperationException>(() => _azurite.StartAsync());
            Assert.That(e!.Message, Does.Contain($"port {_azurite.Port}").And.Contain("still taken"));
        }
        finally
        {
            squatter.Stop();
            _azurite.PortWait = TimeSpan.FromMinutes(1);
        }
        await _azurite.StartAsync();
    }

    [Test]
    public void AStartThatFails_ReportsTheExitCodeAndAzuritesOwnError()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "cert.pem");
        var e = Assert.ThrowsAsync<InvalidOperationException>(() => AzuriteServer.StartNewAsync(null, "--cert", missing, "--key", missing));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("exited with").And.Contain(missing));
    }

    [Test]
    public async Task Upload_WhenAzuriteStaysDown_FailsClearly_AndNoBlobIsVisibleAfterRestart()
    {
        var container = AzuriteFixture.NewContainer();
        var blocksDone = 0;
        var handler = new HookHandler(async (req, send, ct) =>
        {
            var resp = await send();
            if (HookHandler.IsPutBlock(req) && resp.IsSuccessStatusCode && Interlocked.Increment(ref blocksDone) == 4) await _azurite.StopAsync();
            return resp;
        });
        using var store = Store(container, handler, new RetryPolicy { MaxAttempts = 3, InitialDelay = TimeSpan.FromMilliseconds(10) });

        var e = Assert.ThrowsAsync<ArtifactStoreException>(() => store.CreateAsync("model/big.bin", new MemoryStream(Data(12 * Block))));
        Assert.That(e!.Message, Does.Contain("nothing was committed").And.Contain("failed after 3 attempts").And.Contain("connection failed"));

        await _azurite.StartAsync();
        using var fresh = Store(container);
        Assert.That(await fresh.ExistsAsync("model/big.bin"), Is.False);
        Assert.That((await fresh.ListAsync("")).Items, Is.Empty);
        Assert.That(blocksDone, Is.GreaterThanOrEqualTo(4), "blocks had been uploaded before the outage, yet none became visible");
    }

    [TestCase(100)]                 // single Put Blob
    [TestCase(5 * Block + 3)]       // block list: the whole-blob MD5 came from x-ms-blob-content-md5
    public async Task Download_WithAFlippedByte_FailsWithHashMismatch(int size)
    {
        var container = AzuriteFixture.NewContainer();
        using (var writer = Store(container)) await writer.CreateAsync("d/x.bin", new MemoryStream(Data(size)));
        var handler = new HookHandler(async (req, send, ct) =>
        {
            var resp = await send();
            if (HookHandler.IsGetBlob(req) && resp.IsSuccessStatusCode) FlippingContent.Replace(resp, size / 2);
            return resp;
        });
        using var reader = Store(container, handler);
        var e = Assert.ThrowsAsync<ArtifactIntegrityException>(() => reader.ReadAllBytesAsync("d/x.bin"));
        Assert.That(e!.Message, Does.Contain("mismatch").And.Contain("d/x.bin"));
    }

    [Test]
    public async Task RangedDownload_WithAFlippedByte_FailsWithMd5Mismatch()
    {
        var container = AzuriteFixture.NewContainer();
        using (var writer = Store(container)) await writer.CreateAsync("d/x.bin", new MemoryStream(Data(3 * Block)));
        var handler = new HookHandler(async (req, send, ct) =>
        {
            var resp = await send();
            if (HookHandler.IsGetBlob(req) && resp.IsSuccessStatusCode) FlippingContent.Replace(resp, 10);
            return resp;
        });
        using var reader = Store(container, handler);
        Assert.ThrowsAsync<ArtifactIntegrityException>(() => reader.ReadAllBytesAsync("d/x.bin", new ByteRange(100, 1000)));
    }

    [Test]
    public async Task Download_OfAFileTamperedBehindAzurite_FailsWithHashMismatch()
    {
        var container = AzuriteFixture.NewContainer();
        var data = Data(3 * Block);
        var marker = "PIPELINES-TAMPER-MARKER-"u8.ToArray();
        marker.CopyTo(data, Block);
        using var store = Store(container);
        await store.CreateAsync("d/tampered.bin", new MemoryStream(data));

        // Azurite keeps blob bytes in extent files under its location; find ours and flip a byte on disk.
        var tampered = false;
        foreach (var file in Directory.EnumerateFiles(_azurite.Location, "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            var at = bytes.AsSpan().IndexOf(marker);
            if (at < 0) continue;
            bytes[at + 3] ^= 0x01;
            await File.WriteAllBytesAsync(file, bytes);
            tampered = true;
        }
        Assert.That(tampered, Is.True, "found the blob's bytes in Azurite's extent files");
        var e = Assert.ThrowsAsync<ArtifactIntegrityException>(() => store.ReadAllBytesAsync("d/tampered.bin"));
        Assert.That(e!.Message, Does.Contain("MD5 mismatch"));
    }

    [Test]
    public async Task Download_WhenTheConnectionBreaksMidBody_ResumesWhereItStopped_AndVerifiesTheWhole()
    {
        var container = AzuriteFixture.NewContainer();
        var data = Data(5 * Block + 11);
        using (var writer = Store(container)) await writer.CreateAsync("d/x.bin", new MemoryStream(data));
        var gets = 0;
        var resumes = new List<string>();
        var handler = new HookHandler(async (req, send, ct) =>
        {
            // A resume asks for the rest of the same blob version: a range pinned by If-Match.
            if (HookHandler.IsGetBlob(req) && req.Headers.IfMatch.Count > 0)
                lock (resumes) resumes.Add(req.Headers.TryGetValues("x-ms-range", out var r) ? r.Single() : req.Headers.Range?.ToString() ?? "");
            var resp = await send();
            // The first two responses break part-way; the third runs to the end.
            if (HookHandler.IsGetBlob(req) && Interlocked.Increment(ref gets) <= 2) BreakingContent.Replace(resp, 100_000);
            return resp;
        });
        using var reader = Store(container, handler);
        Assert.That(await reader.ReadAllBytesAsync("d/x.bin"), Is.EqualTo(data));
        Assert.That(await reader.ReadAllBytesAsync("d/x.bin", new ByteRange(1000, 3 * Block)), Is.EqualTo(data[1000..(1000 + 3 * Block)]));
        Assert.That(resumes, Has.Count.EqualTo(2));
        Assert.That(resumes[0], Does.StartWith("bytes=100000-"), "the first resume starts where the first response broke");
        Assert.That(resumes[1], Does.StartWith("bytes=200000-"));
    }

    [Test]
    public async Task Download_ThatKeepsBreaking_FailsInsteadOfReturningTooFewBytes()
    {
        var container = AzuriteFixture.NewContainer();
        using (var writer = Store(container)) await writer.CreateAsync("d/x.bin", new MemoryStream(Data(5 * Block)));
        var handler = new HookHandler(async (req, send, ct) =>
        {
            var resp = await send();
            if (HookHandler.IsGetBlob(req)) BreakingContent.Replace(resp, 10_000);
            return resp;
        });
        using var reader = Store(container, handler, new RetryPolicy { MaxAttempts = 3 });
        Assert.ThrowsAsync<IOException>(() => reader.ReadAllBytesAsync("d/x.bin"));
    }

    [Test]
    public async Task Upload_WhenAzuriteIsKilledMidway_NeverLeavesAPartialBlob()
    {
        // SIGKILL, unlike a stop, may lose what Azurite had not yet persisted (uncommitted blocks, even the
        // container). Either outcome is acceptable — complete, or a clear error — but never a partial blob.
        var container = AzuriteFixture.NewContainer();
        var data = Data(12 * Block + 5);
        var outage = new Outage(_azurite, a => a.KillAsync());
        using var store = Store(container, outage.Handler(afterBlocks: 3), new RetryPolicy { MaxAttempts = 6, InitialDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromMilliseconds(500) });
        Exception? error = null;
        try { await store.CreateAsync("model/big.bin", new MemoryStream(data)); }
        catch (ArtifactStoreException e) { error = e; }
        outage.ThrowIfRestartFailed();
        Assert.That(outage.WentDown, Is.True);
        await outage.Restarted;

        using var fresh = Store(container);
        if (error is null)
            Assert.That(await fresh.ReadAllBytesAsync("model/big.bin"), Is.EqualTo(data));
        else
        {
            TestContext.Out.WriteLine("upload failed as allowed: " + error.Message);
            Assert.That(error.Message, Does.Contain("model/big.bin"));
            Assert.That(await fresh.GetInfoAsync("model/big.bin"), Is.Null.Or.Property("Size").EqualTo(data.Length));
            if (await fresh.ExistsAsync("model/big.bin")) Assert.That(await fresh.ReadAllBytesAsync("model/big.bin"), Is.EqualTo(data));
        }
    }
}
