using Pipelines.Storage.Azure;

namespace Pipelines.Storage.Tests.Azure;

/// <summary>The conformance suite against Azurite with Shared Key auth (Azurite checks every signature).</summary>
public sealed class AzureBlobStoreSharedKeyConformance : ArtifactStoreConformance
{
    protected override async Task<IArtifactStore> CreateStoreAsync()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        return new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(AzuriteFixture.NewContainer(), prefix: "team/a")),
            new BlobClientOptions { BlockSize = SmallBlock, MaxBlocksInFlight = 3 });
    }

    [Test]
    public async Task LargeCreate_IsCommittedAsOneBlockList_WithWholeBlobMd5()
    {
        var data = RandomBytes(7 * SmallBlock + 5);
        var stored = await Store.CreateAsync("big.bin", new MemoryStream(data));
        var info = await Store.GetInfoAsync("big.bin");
        Assert.That(info!.Md5, Is.EqualTo(stored.Md5), "x-ms-blob-content-md5 set by the commit");
        Assert.That(info.Sha256, Is.EqualTo(stored.Sha256), "SHA-256 kept in the blob's metadata");
    }
}

/// <summary>The conformance suite with a container SAS we generate ourselves (Azurite validates it).</summary>
public sealed class AzureBlobStoreSasConformance : ArtifactStoreConformance
{
    protected override async Task<IArtifactStore> CreateStoreAsync()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var container = AzuriteFixture.NewContainer();
        using (var admin = new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(container))))
            await admin.EnsureContainerAsync();
        var sas = SasBuilder.ServiceSas(BlobConnection.DevelopmentAccount, Convert.FromBase64String(BlobConnection.DevelopmentKey), container, null,
            "racwdl", DateTimeOffset.UtcNow.AddHours(1));
        return new AzureBlobStore(BlobConnection.Parse($"{azurite.BlobEndpoint}/{container}/sas-prefix?{sas}"),
            new BlobClientOptions { BlockSize = SmallBlock, MaxBlocksInFlight = 3 });
    }
}
