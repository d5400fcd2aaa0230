using System.Security.Cryptography;
using Pipelines.Storage;

namespace Pipelines.Storage.Tests;

/// <summary>
/// The contract every <see cref="IArtifactStore"/> must keep. Each implementation runs it through a subclass
/// that supplies a fresh, empty store per test. Sizes are chosen to span several upload blocks (the Azure
/// subclasses use 64 KiB blocks).
/// </summary>
public abstract class ArtifactStoreConformance
{
    protected const int SmallBlock = 64 << 10;
    protected IArtifactStore Store { get; private set; } = null!;

    protected abstract Task<IArtifactStore> CreateStoreAsync();

    [SetUp]
    public async Task CreateStore() => Store = await CreateStoreAsync();

    [TearDown]
    public void DisposeStore() => (Store as IDisposable)?.Dispose();

    protected static byte[] RandomBytes(int n, int seed = 1)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(1000)]
    [TestCase(SmallBlock)]
    [TestCase(5 * SmallBlock + 123)]
    public async Task Create_ThenRead_ReturnsSameBytesAndHashes(int size)
    {
        var data = RandomBytes(size);
        var stored = await Store.CreateAsync("datasets/train.bin", new MemoryStream(data));
        Assert.That(stored.Size, Is.EqualTo(size));
        Assert.That(stored.Sha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(data))));
        Assert.That(stored.Md5, Is.EqualTo(MD5.HashData(data)));
        Assert.That(await Store.ReadAllBytesAsync("datasets/train.bin"), Is.EqualTo(data));
        var info = await Store.GetInfoAsync("datasets/train.bin");
        Assert.That(info!.Size, Is.EqualTo(size));
    }

    [Test]
    public async Task Create_WhenKeyExists_ThrowsAndKeepsOriginal()
    {
        var original = RandomBytes(3 * SmallBlock, seed: 1);
        await Store.CreateAsync("model/model.json", new MemoryStream(original));
        Assert.ThrowsAsync<ArtifactExistsException>(() => Store.CreateAsync("model/model.json", new MemoryStream(RandomBytes(10, seed: 2))));
        Assert.ThrowsAsync<ArtifactExistsException>(() => Store.CreateAsync("model/model.json", new MemoryStream(RandomBytes(3 * SmallBlock, seed: 3))));
        Assert.That(await Store.ReadAllBytesAsync("model/model.json"), Is.EqualTo(original));
    }

    [Test]
    public async Task Create_WhenManyRaceForOneKey_ExactlyOneWinsAndItsBytesAreStored()
    {
        var payloads = Enumerable.Range(0, 6).Select(i => RandomBytes(2 * SmallBlock + i, seed: 10 + i)).ToArray();
        var tasks = payloads.Select(p => Task.Run(async () =>
        {
            try { return await Store.CreateAsync("race/out.bin", new MemoryStream(p)); }
            catch (ArtifactExistsException) { return null; }
        })).ToArray();
        var results = await Task.WhenAll(tasks);
        var winners = results.Where(r => r is not null).ToList();
        Assert.That(winners, Has.Count.EqualTo(1));
        var stored = await Store.ReadAllBytesAsync("race/out.bin");
        Assert.That(Convert.ToHexStringLower(SHA256.HashData(stored)), Is.EqualTo(winners[0]!.Sha256));
    }

    [Test]
    public async Task OpenRead_WithRange_ReturnsThatSlice()
    {
        var data = RandomBytes(4 * SmallBlock);
        await Store.CreateAsync("r/data", new MemoryStream(data));
        Assert.That(await Store.ReadAllBytesAsync("r/data", new ByteRange(1000, 5000)), Is.EqualTo(data[1000..6000]));
        Assert.That(await Store.ReadAllBytesAsync("r/data", new ByteRange(SmallBlock - 10, 2 * SmallBlock)), Is.EqualTo(data[(SmallBlock - 10)..(3 * SmallBlock - 10)]));
        Assert.That(await Store.ReadAllBytesAsync("r/data", new ByteRange(data.Length - 7)), Is.EqualTo(data[^7..]));
        // A range running past the end returns what exists.
        Assert.That(await Store.ReadAllBytesAsync("r/data", new ByteRange(data.Length - 3, 100)), Is.EqualTo(data[^3..]));
    }

    [Test]
    public void OpenRead_WhenMissing_ThrowsNotFound()
    {
        var e = Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.OpenReadAsync("nope/missing.parquet"));
        Assert.That(e!.Key, Is.EqualTo("nope/missing.parquet"));
    }

    [Test]
    public async Task Exists_And_GetInfo_ReflectCreateAndDelete()
    {
        Assert.That(await Store.ExistsAsync("a/b/c"), Is.False);
        Assert.That(await Store.GetInfoAsync("a/b/c"), Is.Null);
        await Store.CreateAsync("a/b/c", new MemoryStream(RandomBytes(10)));
        Assert.That(await Store.ExistsAsync("a/b/c"), Is.True);
        Assert.That(await Store.DeleteAsync("a/b/c"), Is.True);
        Assert.That(await Store.DeleteAsync("a/b/c"), Is.False);
        Assert.That(await Store.ExistsAsync("a/b/c"), Is.False);
        // A deleted key may be created again.
        await Store.CreateAsync("a/b/c", new MemoryStream(RandomBytes(5, seed: 9)));
        Assert.That(await Store.ReadAllBytesAsync("a/b/c"), Is.EqualTo(RandomBytes(5, seed: 9)));
    }

    [Test]
    public async Task List_OnAStoreNothingWasWrittenTo_IsEmpty()
    {
        Assert.That((await Store.ListAsync("")).Items, Is.Empty);
        Assert.That((await Store.ListAsync("attempts/")).Items, Is.Empty);
        Assert.That(await Store.DeleteAsync("attempts/x/1/y"), Is.False);
    }

    [Test]
    public async Task List_ByPrefix_PagesInOrdinalOrderWithoutGapsOrDuplicates()
    {
        var keys = Enumerable.Range(0, 11).Select(i => $"runs/r1/step-{i:D2}/out.parquet").Append("runs/r1/z").Append("runs/r2/x").Append("other/y").ToList();
        foreach (var k in keys) await Store.CreateAsync(k, new MemoryStream([1, 2, 3]));

        var seen = new List<string>();
        var pages = 0;
        string? next = null;
        do
        {
            var page = await Store.ListAsync("runs/r1/", next, pageSize: 4);
            Assert.That(page.Items.Count, Is.LessThanOrEqualTo(4));
            seen.AddRange(page.Items.Select(i => i.Key));
            next = page.Continuation;
            pages++;
        } while (next is not null);
        var expected = keys.Where(k => k.StartsWith("runs/r1/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.That(seen, Is.EqualTo(expected));
        Assert.That(pages, Is.GreaterThanOrEqualTo(3));
        Assert.That((await Store.ListAsync("runs/r1/step-0", pageSize: 100)).Items.Select(i => i.Key),
            Is.EqualTo(expected.Where(k => k.StartsWith("runs/r1/step-0", StringComparison.Ordinal))), "a prefix matches names, not only folders");
        Assert.That((await Store.ListAsync("", pageSize: 100)).Items.Select(i => i.Key), Is.EqualTo(keys.Order(StringComparer.Ordinal)));
        Assert.That((await Store.ListAsync("missing/", pageSize: 100)).Items, Is.Empty);
        Assert.That((await Store.ListAsync("runs/r1/", pageSize: 100)).Items.Single(i => i.Key == "runs/r1/z").Size, Is.EqualTo(3));
    }

    [TestCase("dir with space/file+plus.bin")]
    [TestCase("ünïcødé/データ.parquet")]
    [TestCase("pct%41/a=b&c;d")]
    [TestCase("q?x#y/z~!$'()*,@")]
    public async Task KeysWithSpecialCharacters_RoundTrip_AndList(string key)
    {
        var data = RandomBytes(2 * SmallBlock + 1);
        await Store.CreateAsync(key, new MemoryStream(data));
        Assert.That(await Store.ReadAllBytesAsync(key), Is.EqualTo(data));
        Assert.That(await Store.ReadAllBytesAsync(key, new ByteRange(5, 10)), Is.EqualTo(data[5..15]));
        var prefix = key[..(key.IndexOf('/') + 1)];
        Assert.That((await Store.ListAsync(prefix)).Items.Select(i => i.Key), Is.EqualTo(new[] { key }));
        Assert.That(await Store.DeleteAsync(key), Is.True);
    }

    [TestCase("../escape")]
    [TestCase("/absolute")]
    [TestCase("a//b")]
    [TestCase("a/./b")]
    [TestCase("trailing/")]
    [TestCase("back\\slash")]
    [TestCase("")]
    public void InvalidKeys_AreRejected(string key)
    {
        Assert.ThrowsAsync<ArgumentException>(() => Store.CreateAsync(key, new MemoryStream([1])));
        Assert.ThrowsAsync<ArgumentException>(() => Store.OpenReadAsync(key));
    }

    [Test]
    public async Task Create_WhenSourceFailsMidway_LeavesNothingVisible()
    {
        var source = new FailingStream(RandomBytes(6 * SmallBlock), failAfter: 3 * SmallBlock + 100);
        Assert.ThrowsAsync(Is.InstanceOf<Exception>(), () => Store.CreateAsync("partial/blob.bin", source));
        Assert.That(await Store.ExistsAsync("partial/blob.bin"), Is.False);
        Assert.That((await Store.ListAsync("partial/")).Items, Is.Empty);
        Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.OpenReadAsync("partial/blob.bin"));
    }

    [Test]
    public async Task UriFor_NamesTheObjectWithoutSecrets()
    {
        var stored = await Store.CreateAsync("u/x y.bin", new MemoryStream([1]));
        Assert.That(stored.Uri, Is.EqualTo(Store.UriFor("u/x y.bin")));
        Assert.That(stored.Uri, Does.Not.Contain("sig=").And.Not.Contain(";AccountKey"));
        Assert.That(await Store.ReadAllBytesAsync("u/x y.bin"), Is.EqualTo(new byte[] { 1 }));
    }
}

/// <summary>A source that throws part-way, as a crashing producer would.</summary>
public sealed class FailingStream(byte[] data, int failAfter) : MemoryStream(data)
{
    public override int Read(byte[] buffer, int offset, int count) => Check(base.Read(buffer, offset, Math.Min(count, 4096)));
    public override int Read(Span<byte> buffer) => Check(base.Read(buffer[..Math.Min(buffer.Length, 4096)]));
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => Task.FromResult(Read(buffer, offset, count));
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => ValueTask.FromResult(Read(buffer.Span));

    private int Check(int n) => Position > failAfter ? throw new IOException("producer crashed") : n;
}
