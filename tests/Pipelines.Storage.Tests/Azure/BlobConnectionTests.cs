using Pipelines.Storage.Azure;

namespace Pipelines.Storage.Tests.Azure;

public sealed class BlobConnectionTests
{
    private const string Key = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5";

    [Test]
    public void DevelopmentStorage_UsesAzuriteDefaults()
    {
        var c = BlobConnection.Parse("UseDevelopmentStorage=true");
        Assert.That(c.ServiceEndpoint.AbsoluteUri, Is.EqualTo("http://127.0.0.1:10000/devstoreaccount1"));
        Assert.That(c.AccountName, Is.EqualTo("devstoreaccount1"));
        Assert.That(c.Container, Is.EqualTo("artifacts"));
        Assert.That(c.Credential, Is.InstanceOf<BlobCredential.SharedKey>());
    }

    [Test]
    public void AccountNameAndKey_BuildThePublicEndpoint_WithContainerAndPrefix()
    {
        var c = BlobConnection.Parse($"DefaultEndpointsProtocol=https;AccountName=prodml;AccountKey={Key};EndpointSuffix=core.windows.net;Container=ml;Prefix=/nightly/");
        Assert.That(c.ContainerUri.AbsoluteUri, Is.EqualTo("https://prodml.blob.core.windows.net/ml"));
        Assert.That(c.Prefix, Is.EqualTo("nightly/"));
        Assert.That(((BlobCredential.SharedKey)c.Credential).AccountName, Is.EqualTo("prodml"));
    }

    [Test]
    public void BlobEndpoint_PathStyle_TakesTheAccountFromThePath()
    {
        var c = BlobConnection.Parse($"BlobEndpoint=http://127.0.0.1:10500/devstoreaccount1;AccountKey={Key}");
        Assert.That(c.AccountName, Is.EqualTo("devstoreaccount1"));
        Assert.That(c.ContainerUri.AbsoluteUri, Is.EqualTo("http://127.0.0.1:10500/devstoreaccount1/artifacts"));
    }

    [Test]
    public void Url_WithSas_UsesTheSas_AndSplitsContainerAndPrefix()
    {
        var c = BlobConnection.Parse("https://acct.blob.core.windows.net/data/team/x?sv=2020-12-06&sr=c&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=abc%2Bdef");
        Assert.That(c.Container, Is.EqualTo("data"));
        Assert.That(c.Prefix, Is.EqualTo("team/x/"));
        Assert.That(c.Credential, Is.InstanceOf<BlobCredential.Sas>());
        Assert.That(c.ToString(), Does.Not.Contain("abc%2Bdef"));
    }

    [Test]
    public void SecretsNeverAppearInDescriptions()
    {
        var c = BlobConnection.Parse($"AccountName=prodml;AccountKey={Key}");
        Assert.That(c.ToString(), Does.Not.Contain(Key));
        Assert.That(c.Credential.ToString(), Does.Not.Contain(Key));
        var e = Assert.Throws<FormatException>(() => BlobConnection.Parse($"AccountName=x;AccountKey={Key};garbage"));
        Assert.That(e!.Message, Does.Not.Contain(Key));
    }

    [TestCase("https://acct.blob.core.windows.net/models/prod")]
    [TestCase("AccountName=acct;Container=models;Prefix=prod")]
    public void WithoutKeyOrSas_AuthenticatesWithDefaultAzureCredential(string text)
    {
        var c = BlobConnection.Parse(text);
        Assert.That(c.Credential, Is.InstanceOf<BlobCredential.EntraId>());
        Assert.That(((BlobCredential.EntraId)c.Credential).Credential, Is.InstanceOf<global::Azure.Identity.DefaultAzureCredential>());
        Assert.That(c.ContainerUri.AbsoluteUri, Is.EqualTo("https://acct.blob.core.windows.net/models"));
        Assert.That(c.Prefix, Is.EqualTo("prod/"));
        // The store builds the SDK client for it without contacting anything (tokens are fetched on first use).
        using var store = new AzureBlobStore(c);
        Assert.That(store.UriFor("m/model.zip"), Is.EqualTo("https://acct.blob.core.windows.net/models/prod/m/model.zip"));
        Assert.That(store.Location, Does.Contain("EntraId(DefaultAzureCredential)"));
    }

    [TestCase("UseDevelopmentStorage=true", true)]
    [TestCase("https://a.blob.core.windows.net/c", true)]
    [TestCase("/var/lib/pipelines/artifacts", false)]
    [TestCase(".pipelines/artifacts", false)]
    public void LooksLikeAzure_TellsFoldersFromConnections(string text, bool azure) =>
        Assert.That(BlobConnection.LooksLikeAzure(text), Is.EqualTo(azure));
}
