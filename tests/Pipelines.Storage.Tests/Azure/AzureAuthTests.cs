using System.Net;
using Azure.Core;
using Pipelines.Storage.Azure;

namespace Pipelines.Storage.Tests.Azure;

/// <summary>Authorization against Azurite, which verifies Shared Key signatures and SAS tokens itself.</summary>
public sealed class AzureAuthTests
{
    private static readonly byte[] DevKey = Convert.FromBase64String(BlobConnection.DevelopmentKey);

    [Test]
    public async Task SharedKey_WithAWrongKey_IsRejectedBy_Azurite_AndTheKeyIsNotInTheError()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var container = AzuriteFixture.NewContainer();
        using (var good = new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(container)))) await good.CreateAsync("x", new MemoryStream([1]));
        var wrongKey = Convert.ToBase64String(Enumerable.Range(0, 64).Select(i => (byte)i).ToArray());
        var cs = azurite.ConnectionString(container).Replace(BlobConnection.DevelopmentKey, wrongKey);
        using var bad = new AzureBlobStore(BlobConnection.Parse(cs));
        var e = Assert.ThrowsAsync<BlobRequestException>(() => bad.ReadAllBytesAsync("x"));
        Assert.That(e!.Status, Is.EqualTo(403));
        Assert.That(e.ToString(), Does.Not.Contain(wrongKey));
        Assert.That(bad.Location, Does.Not.Contain(wrongKey));
    }

    [Test]
    public async Task Sas_WithATamperedSignature_IsRejected_AndTheSignatureIsMaskedInErrorsAndLogs()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var container = AzuriteFixture.NewContainer();
        using (var admin = new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(container)))) await admin.CreateAsync("x", new MemoryStream([1]));
        var sas = SasBuilder.ServiceSas(BlobConnection.DevelopmentAccount, DevKey, container, null, "rl", DateTimeOffset.UtcNow.AddHours(1));
        var sig = Uri.UnescapeDataString(sas[(sas.IndexOf("sig=", StringComparison.Ordinal) + 4)..]);
        var tampered = sas.Replace("sp=rl", "sp=rwl");
        var log = new List<string>();
        using var store = new AzureBlobStore(BlobConnection.Parse($"{azurite.BlobEndpoint}/{container}?{tampered}"), new BlobClientOptions { Log = log.Add });
        var e = Assert.ThrowsAsync<BlobRequestException>(() => store.ReadAllBytesAsync("x"));
        Assert.That(e!.Status, Is.EqualTo(403));
        Assert.That(e.ToString(), Does.Contain("sig=REDACTED"));
        foreach (var text in log.Append(e.ToString()).Append(store.Location))
        {
            Assert.That(text, Does.Not.Contain(sig));
            Assert.That(text, Does.Not.Contain(Uri.EscapeDataString(sig)));
        }
    }

    [Test]
    public async Task Sas_ReadOnly_CanReadAndList_ButNotWrite()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var container = AzuriteFixture.NewContainer();
        using (var admin = new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(container)))) await admin.CreateAsync("x", new MemoryStream([7]));
        var sas = SasBuilder.ServiceSas(BlobConnection.DevelopmentAccount, DevKey, container, null, "rl", DateTimeOffset.UtcNow.AddHours(1));
        using var store = new AzureBlobStore(BlobConnection.Parse($"{azurite.BlobEndpoint}/{container}?{sas}"));
        Assert.That(await store.ReadAllBytesAsync("x"), Is.EqualTo(new byte[] { 7 }));
        Assert.That((await store.ListAsync("")).Items.Select(i => i.Key), Is.EqualTo(new[] { "x" }));
        var e = Assert.ThrowsAsync<BlobRequestException>(() => store.CreateAsync("y", new MemoryStream([1])));
        Assert.That(e!.Status, Is.EqualTo(403));
    }

    [Test]
    public async Task Sas_ForOneBlob_ReadsThatBlobOnly()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var container = AzuriteFixture.NewContainer();
        using (var admin = new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(container))))
        {
            await admin.CreateAsync("a/one", new MemoryStream([1]));
            await admin.CreateAsync("a/two", new MemoryStream([2]));
        }
        var sas = SasBuilder.ServiceSas(BlobConnection.DevelopmentAccount, DevKey, container, "a/one", "r", DateTimeOffset.UtcNow.AddHours(1));
        using var store = new AzureBlobStore(BlobConnection.Parse($"{azurite.BlobEndpoint}/{container}?{sas}"));
        Assert.That(await store.ReadAllBytesAsync("a/one"), Is.EqualTo(new byte[] { 1 }));
        Assert.That(Assert.ThrowsAsync<BlobRequestException>(() => store.ReadAllBytesAsync("a/two"))!.Status, Is.EqualTo(403));
    }

    // Azurite accepts bearer tokens only over HTTPS, so this checks what we send, not a service's verdict.
    [Test]
    public async Task EntraId_SendsABearerTokenForTheStorageScope_AndReusesItUntilNearExpiry()
    {
        var credential = new CountingCredential();
        var seen = new List<string>();
        var handler = new HookHandler((req, send, ct) =>
        {
            seen.Add(req.Headers.Authorization!.ToString());
            return Task.FromResult(Responses.Status(HttpStatusCode.NotFound, ("x-ms-error-code", "BlobNotFound")));
        });
        using var store = new AzureBlobStore(BlobConnection.Parse("https://acct.blob.core.windows.net/models/prod", credential), new BlobClientOptions { Handler = handler });
        Assert.That(await store.GetInfoAsync("m1"), Is.Null);
        Assert.That(await store.GetInfoAsync("m2"), Is.Null);
        Assert.That(seen, Is.EqualTo(new[] { "Bearer token-1", "Bearer token-1" }));
        Assert.That(credential.Scopes, Is.EqualTo(new[] { "https://storage.azure.com/.default" }));
        Assert.That(store.UriFor("m1"), Is.EqualTo("https://acct.blob.core.windows.net/models/prod/m1"));
    }

    [Test]
    public async Task Sas_WriteOnly_CanCreate_ButNotRead_AndStillNeverOverwrites()
    {
        var azurite = await AzuriteFixture.ServerAsync();
        var container = AzuriteFixture.NewContainer();
        using var admin = new AzureBlobStore(BlobConnection.Parse(azurite.ConnectionString(container)), new BlobClientOptions { BlockSize = 64 << 10 });
        await admin.EnsureContainerAsync();
        var sas = SasBuilder.ServiceSas(BlobConnection.DevelopmentAccount, DevKey, container, null, "cw", DateTimeOffset.UtcNow.AddHours(1));
        using var writer = new AzureBlobStore(BlobConnection.Parse($"{azurite.BlobEndpoint}/{container}?{sas}"), new BlobClientOptions { BlockSize = 64 << 10 });
        var data = new byte[200_000];
        new Random(3).NextBytes(data);
        await writer.CreateAsync("out/data.bin", new MemoryStream(data));
        Assert.That(await admin.ReadAllBytesAsync("out/data.bin"), Is.EqualTo(data));
        Assert.That(Assert.ThrowsAsync<BlobRequestException>(() => writer.ReadAllBytesAsync("out/data.bin"))!.Status, Is.EqualTo(403));
        Assert.ThrowsAsync<ArtifactExistsException>(() => writer.CreateAsync("out/data.bin", new MemoryStream(new byte[10])));
        Assert.ThrowsAsync<ArtifactExistsException>(() => writer.CreateAsync("out/data.bin", new MemoryStream(new byte[100_000])));
        Assert.That(await admin.ReadAllBytesAsync("out/data.bin"), Is.EqualTo(data));
    }

    private sealed class CountingCredential : TokenCredential
    {
        private int _calls;
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext context, CancellationToken ct) => GetTokenAsync(context, ct).AsTask().Result;

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext context, CancellationToken ct)
        {
            Scopes.AddRange(context.Scopes);
            return ValueTask.FromResult(new AccessToken($"token-{Interlocked.Increment(ref _calls)}", DateTimeOffset.UtcNow.AddHours(1)));
        }
    }
}
