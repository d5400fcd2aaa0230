using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Core;
using Pipelines.Storage.Azure;
using Pipelines.Testing;

namespace Pipelines.Storage.Tests.Azure;

/// <summary>
/// The Entra ID path against Azurite's OAuth mode (HTTPS with a throwaway self-signed certificate). Azurite
/// checks the bearer token's audience, issuer and lifetime, not its signature, so these tokens are minted here.
/// </summary>
[NonParallelizable]
public sealed class EntraIdOnAzuriteTests
{
    private AzuriteServer _azurite = null!;
    private string _certs = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _certs = Directory.CreateTempSubdirectory("azurite-tls-").FullName;
        var openssl = Process.Start(new ProcessStartInfo("openssl")
        {
            ArgumentList = { "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                             "-keyout", Path.Combine(_certs, "key.pem"), "-out", Path.Combine(_certs, "cert.pem") },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        await openssl.WaitForExitAsync();
        Assert.That(openssl.ExitCode, Is.EqualTo(0), "openssl could not create a test certificate: " + await openssl.StandardError.ReadToEndAsync());
        _azurite = await AzuriteServer.StartNewAsync(null, "--oauth", "basic", "--cert", Path.Combine(_certs, "cert.pem"), "--key", Path.Combine(_certs, "key.pem"));
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _azurite.DisposeAsync();
        Directory.Delete(_certs, recursive: true);
    }

    // Trust exactly this test's self-signed certificate.
    private HttpMessageHandler Handler()
    {
        var expected = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_certs, "cert.pem")));
        return new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == expected.GetCertHashString() },
        };
    }

    private AzureBlobStore Store(TokenCredential credential, string container) =>
        new(BlobConnection.Parse($"{_azurite.BlobEndpoint}/{container}/models", credential), new BlobClientOptions { Handler = Handler(), BlockSize = 64 << 10 });

    [Test]
    public async Task BearerTokens_AreAcceptedByAzurite_ForCreateReadListDelete()
    {
        var credential = new MintedCredential(TimeSpan.FromHours(1));
        using var store = Store(credential, AzuriteFixture.NewContainer());
        var data = new byte[200_000];
        new Random(1).NextBytes(data);
        await store.CreateAsync("m/model.bin", new MemoryStream(data));
        Assert.That(await store.ReadAllBytesAsync("m/model.bin"), Is.EqualTo(data));
        Assert.That((await store.ListAsync("m/")).Items.Select(i => i.Key), Is.EqualTo(new[] { "m/model.bin" }));
        Assert.That(await store.DeleteAsync("m/model.bin"), Is.True);
        Assert.That(credential.Calls, Is.EqualTo(1), "the token is reused while it is valid");
    }

    [Test]
    public void AnExpiredToken_IsRejected_AndTheTokenIsNotInTheError()
    {
        var credential = new MintedCredential(TimeSpan.FromMinutes(-5));
        using var store = Store(credential, AzuriteFixture.NewContainer());
        var e = Assert.ThrowsAsync<BlobRequestException>(() => store.CreateAsync("x", new MemoryStream([1])));
        Assert.That(e!.Status, Is.EqualTo(401).Or.EqualTo(403));
        Assert.That(e.ToString(), Does.Not.Contain(credential.LastToken!));
    }

    /// <summary>Mints unsigned JWTs shaped like Entra ID's for https://storage.azure.com.</summary>
    private sealed class MintedCredential(TimeSpan lifetime) : TokenCredential
    {
        public int Calls;
        public string? LastToken;

        public override AccessToken GetToken(TokenRequestContext context, CancellationToken ct) => Mint(context);
        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext context, CancellationToken ct) => ValueTask.FromResult(Mint(context));

        private AccessToken Mint(TokenRequestContext context)
        {
            Interlocked.Increment(ref Calls);
            Assert.That(context.Scopes, Is.EqualTo(new[] { "https://storage.azure.com/.default" }));
            var now = DateTimeOffset.UtcNow;
            var expires = now + lifetime;
            static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var payload = new JsonObject
            {
                ["aud"] = "https://storage.azure.com",
                ["iss"] = "https://sts.windows.net/00000000-0000-0000-0000-000000000001/",
                ["nbf"] = now.AddMinutes(-10).ToUnixTimeSeconds(),
                ["iat"] = now.AddMinutes(-10).ToUnixTimeSeconds(),
                ["exp"] = expires.ToUnixTimeSeconds(),
                ["oid"] = Guid.NewGuid().ToString(),
                ["tid"] = "00000000-0000-0000-0000-000000000001",
            };
            LastToken = B64("{\"alg\":\"RS256\",\"typ\":\"JWT\"}") + "." + B64(payload.ToJsonString()) + "." + B64("not-a-signature");
            return new AccessToken(LastToken, expires);
        }
    }
}
