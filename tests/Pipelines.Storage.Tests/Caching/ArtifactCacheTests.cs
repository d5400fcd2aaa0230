using System.Security.Cryptography;
using Pipelines.Storage.Azure;
using Pipelines.Storage.Caching;
using Pipelines.Storage.Local;
using Pipelines.Storage.Tests.Azure;
using Pipelines.Testing;

namespace Pipelines.Storage.Tests.Caching;

public sealed class ArtifactCacheTests
{
    private string _dir = null!;
    private CountingStore _store = null!;
    private ManualTime _time = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("cache-").FullName;
        _store = new CountingStore(new LocalFolderStore(Path.Combine(_dir, "remote")));
        _time = new ManualTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private ArtifactCache Cache(long max, bool verifyOnHit = false) =>
        new(_store, Path.Combine(_dir, "cache"), new ArtifactCacheOptions { MaxBytes = max, Time = _time, VerifyOnHit = verifyOnHit });

    private async Task<string> Put(string key, int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return (await _store.CreateAsync(key, new MemoryStream(b))).Sha256;
    }

    [Test]
    public async Task Get_DownloadsOnce_ThenServesTheVerifiedLocalCopy()
    {
        var sha = await Put("a", 1000, 1);
        var cache = Cache(10_000);
        var p1 = await cache.GetAsync("a", sha);
        var p2 = await cache.GetAsync("a", sha);
        Assert.That(p2, Is.EqualTo(p1));
        Assert.That(_store.Reads, Is.EqualTo(1));
        Assert.That((cache.Hits, cache.Misses), Is.EqualTo((1L, 1L)));
        Assert.That(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(p1))), Is.EqualTo(sha));
    }

    [Test]
    public async Task Get_WhenBytesDoNotMatchTheHash_ThrowsAndCachesNothing()
    {
        await Put("a", 1000, 1);
        var cache = Cache(10_000);
        Assert.ThrowsAsync<ArtifactIntegrityException>(() => cache.GetAsync("a", new string('0', 64)));
        Assert.That(cache.SizeBytes, Is.Zero);
        Assert.That(Directory.EnumerateFiles(Path.Combine(_dir, "cache"), "*", SearchOption.AllDirectories), Is.Empty);
    }

    [Test]
    public async Task OverBudget_EvictsLeastRecentlyUsedFirst()
    {
        var a = await Put("a", 100, 1);
        var b = await Put("b", 100, 2);
        var c = await Put("c", 100, 3);
        var cache = Cache(250);
        await cache.GetAsync("a", a);
        _time.Advance(TimeSpan.FromMinutes(1));
        await cache.GetAsync("b", b);
        _time.Advance(TimeSpan.FromMinutes(1));
        await cache.GetAsync("a", a); // a is now more recent than b
        _time.Advance(TimeSpan.FromMinutes(1));
        await cache.GetAsync("c", c);

        Assert.That(File.Exists(Path.Combine(cache.Root, a)), Is.True);
        Assert.That(File.Exists(Path.Combine(cache.Root, b)), Is.False);
        Assert.That(File.Exists(Path.Combine(cache.Root, c)), Is.True);
        Assert.That(cache.SizeBytes, Is.LessThanOrEqualTo(250));
    }

    [Test]
    public async Task LargerThanTheWholeCache_IsRefused()
    {
        var sha = await Put("big", 500, 1);
        Assert.ThrowsAsync<ArtifactStoreException>(() => Cache(100).GetAsync("big", sha));
    }

    [Test]
    public async Task VerifyOnHit_RefetchesACopyThatRottedOnDisk()
    {
        var sha = await Put("a", 1000, 1);
        var cache = Cache(10_000, verifyOnHit: true);
        var path = await cache.GetAsync("a", sha);
        var bytes = File.ReadAllBytes(path);
        bytes[10] ^= 1;
        File.WriteAllBytes(path, bytes);
        await cache.GetAsync("a", sha);
        Assert.That(_store.Reads, Is.EqualTo(2));
        Assert.That(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), Is.EqualTo(sha));
    }

    [Test]
    public async Task WorksOverAzureBlob()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        using var remote = new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(AzuriteFixture.NewContainer())), new BlobClientOptions { BlockSize = 64 << 10 });
        var data = new byte[300_000];
        new Random(5).NextBytes(data);
        var stored = await remote.CreateAsync("m/model.bin", new MemoryStream(data));
        var cache = new ArtifactCache(remote, Path.Combine(_dir, "azcache"));
        Assert.That(File.ReadAllBytes(await cache.GetAsync("m/model.bin", stored.Sha256)), Is.EqualTo(data));
    }

    private sealed class CountingStore(IArtifactStore inner) : IArtifactStore
    {
        public int Reads;
        public string Location => inner.Location;
        public string UriFor(string key) => inner.UriFor(key);
        public Task<StoredObject> CreateAsync(string key, Stream content, PutOptions? options = null, CancellationToken ct = default) => inner.CreateAsync(key, content, options, ct);
        public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken ct = default)
        {
            Interlocked.Increment(ref Reads);
            return inner.OpenReadAsync(key, range, ct);
        }
        public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken ct = default) => inner.GetInfoAsync(key, ct);
        public Task<ListPage> ListAsync(string prefix, string? continuation = null, int pageSize = 1000, CancellationToken ct = default) => inner.ListAsync(prefix, continuation, pageSize, ct);
        public Task<bool> DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
    }
}
