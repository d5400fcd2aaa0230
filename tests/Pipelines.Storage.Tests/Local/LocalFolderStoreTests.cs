using Pipelines.Storage.Local;

namespace Pipelines.Storage.Tests.Local;

public sealed class LocalFolderStoreConformance : ArtifactStoreConformance
{
    private readonly List<string> _roots = [];

    protected override Task<IArtifactStore> CreateStoreAsync()
    {
        var root = Directory.CreateTempSubdirectory("artifacts-").FullName;
        _roots.Add(root);
        return Task.FromResult<IArtifactStore>(new LocalFolderStore(root));
    }

    [OneTimeTearDown]
    public void Cleanup()
    {
        foreach (var r in _roots) Directory.Delete(r, recursive: true);
    }

    [Test]
    public async Task Create_LeavesNoTemporaryFilesBehind()
    {
        var store = (LocalFolderStore)Store;
        await store.CreateAsync("x/y", new MemoryStream(RandomBytes(1000)));
        Assert.ThrowsAsync<ArtifactExistsException>(() => store.CreateAsync("x/y", new MemoryStream(RandomBytes(10))));
        Assert.ThrowsAsync<IOException>(() => store.CreateAsync("x/z", new FailingStream(RandomBytes(100_000), 50_000)));
        Assert.That(Directory.EnumerateFiles(Path.Combine(store.Root, ".incoming")), Is.Empty);
    }

    [Test]
    public void ReservedFolder_IsNotAKey() =>
        Assert.ThrowsAsync<ArgumentException>(() => Store.CreateAsync(".incoming/x", new MemoryStream([1])));
}
