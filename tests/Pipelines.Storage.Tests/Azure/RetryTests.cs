using System.Net;
using Pipelines.Storage.Azure;

namespace Pipelines.Storage.Tests.Azure;

/// <summary>Retries on throttling, server errors and timeouts. Waits are recorded, not slept.</summary>
public sealed class RetryTests
{
    private static (AzureBlobStore Store, List<TimeSpan> Waits, List<string> Log) Create(string connection, HttpMessageHandler handler, RetryPolicy? retry = null)
    {
        var waits = new List<TimeSpan>();
        var log = new List<string>();
        var store = new AzureBlobStore(BlobConnection.Parse(connection), new BlobClientOptions
        {
            Handler = handler,
            Retry = retry ?? new RetryPolicy { Jitter = 0 },
            Wait = (d, _) => { waits.Add(d); return Task.CompletedTask; },
            Log = log.Add,
        });
        return (store, waits, log);
    }

    [Test]
    public async Task Throttled_HonoursRetryAfter_ThenSucceeds()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var container = AzuriteFixture.NewContainer();
        var calls = 0;
        var handler = new HookHandler(async (req, send, ct) => Interlocked.Increment(ref calls) switch
        {
            1 => Responses.Status((HttpStatusCode)503, ("Retry-After", "7"), ("x-ms-error-code", "ServerBusy")),
            2 => Responses.Status((HttpStatusCode)429, ("x-ms-retry-after-ms", "1500")),
            3 => Responses.Status(HttpStatusCode.InternalServerError),
            _ => await send(),
        });
        var (store, waits, log) = Create(azurite.ConnectionString(container), handler);
        using (store)
        {
            await store.CreateAsync("x", new MemoryStream([1, 2]));
            Assert.That(await store.ReadAllBytesAsync("x"), Is.EqualTo(new byte[] { 1, 2 }));
        }
        // All three failures hit the create's first request; the third wait is the backoff of its 4th try (0.5 s × 2²).
        Assert.That(waits, Is.EqualTo(new[] { TimeSpan.FromSeconds(7), TimeSpan.FromMilliseconds(1500), TimeSpan.FromSeconds(2) }));
        Assert.That(log[0], Does.Contain("503 ServerBusy"));
    }

    [Test]
    public async Task NoResponseWithinTheTryTimeout_IsRetried()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var container = AzuriteFixture.NewContainer();
        var calls = 0;
        var handler = new HookHandler(async (req, send, ct) =>
        {
            if (Interlocked.Increment(ref calls) == 2) await Task.Delay(Timeout.Infinite, ct); // hangs until the try times out
            return await send();
        });
        // The hung try is abandoned after TryTimeout. Assertions do not depend on how long the other requests take.
        var (store, waits, log) = Create(azurite.ConnectionString(container), handler, new RetryPolicy { TryTimeout = TimeSpan.FromSeconds(2), Jitter = 0 });
        using (store)
        {
            await store.CreateAsync("x", new MemoryStream([1]));
            Assert.That(await store.ReadAllBytesAsync("x"), Is.EqualTo(new byte[] { 1 }));
        }
        Assert.That(log, Has.Some.Contains("no response within 2 s"));
        Assert.That(waits, Is.Not.Empty);
    }

    [Test]
    public async Task ClientErrors_AreNotRetried()
    {
        var calls = 0;
        var handler = new HookHandler((req, send, ct) =>
        {
            Interlocked.Increment(ref calls);
            return Task.FromResult(Responses.Status(HttpStatusCode.BadRequest, ("x-ms-error-code", "InvalidHeaderValue")));
        });
        var (store, waits, _) = Create("UseDevelopmentStorage=true;Container=c", handler);
        using (store)
        {
            var e = Assert.ThrowsAsync<BlobRequestException>(() => store.GetInfoAsync("x"));
            Assert.That(e!.Status, Is.EqualTo(400));
            Assert.That(e.ErrorCode, Is.EqualTo("InvalidHeaderValue"));
        }
        Assert.That(calls, Is.EqualTo(1));
        Assert.That(waits, Is.Empty);
    }

    [Test]
    public void Delay_IsExponentialCappedAndJittered_AndRetryAfterWins()
    {
        var p = new RetryPolicy { InitialDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(5), Jitter = 0.2, MaxRetryAfter = TimeSpan.FromSeconds(60) };
        Assert.That(p.Delay(2, null, 0.5), Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(p.Delay(3, null, 0.5), Is.EqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(p.Delay(4, null, 0.5), Is.EqualTo(TimeSpan.FromSeconds(4)));
        Assert.That(p.Delay(9, null, 0.5), Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(p.Delay(2, null, 0.0), Is.EqualTo(TimeSpan.FromSeconds(0.8)));
        Assert.That(p.Delay(2, null, 1.0), Is.EqualTo(TimeSpan.FromSeconds(1.2)));
        Assert.That(p.Delay(2, TimeSpan.FromSeconds(30), 0.5), Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(p.Delay(2, TimeSpan.FromHours(3), 0.5), Is.EqualTo(TimeSpan.FromSeconds(60)));
    }

    [Test]
    public async Task RetryLogsAndFinalErrors_WithASas_NeverContainTheSignature()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var container = AzuriteFixture.NewContainer();
        using (var admin = new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(container)))) await admin.EnsureContainerAsync();
        var sas = SasBuilder.ServiceSas(BlobConnection.DevelopmentAccount, Convert.FromBase64String(BlobConnection.DevelopmentKey), container, null, "racwdl", DateTimeOffset.UtcNow.AddHours(1));
        var sig = sas[(sas.IndexOf("sig=", StringComparison.Ordinal) + 4)..];
        var handler = new HookHandler(async (req, send, ct) =>
            req.Method == HttpMethod.Head ? Responses.Status((HttpStatusCode)503) : await send());
        var (store, _, log) = Create($"{azurite.BlobEndpoint}/{container}?{sas}", handler, new RetryPolicy { MaxAttempts = 3, Jitter = 0 });
        using (store)
        {
            var e = Assert.ThrowsAsync<BlobRequestException>(() => store.GetInfoAsync("x"));
            Assert.That(e!.Message, Does.Contain("sig=REDACTED").And.Contain("failed after 3 attempts"));
            Assert.That(e.ToString(), Does.Not.Contain(sig).And.Not.Contain(Uri.UnescapeDataString(sig)));
        }
        Assert.That(log, Has.Count.EqualTo(2));
        foreach (var line in log)
        {
            Assert.That(line, Does.Contain("sig=REDACTED"));
            Assert.That(line, Does.Not.Contain(sig).And.Not.Contain(Uri.UnescapeDataString(sig)));
        }
    }
}
