namespace Pipelines.Storage.Tests;

public sealed class RedactionTests
{
    [TestCase("GET https://a.blob.core.windows.net/c/x?sv=2020-12-06&sig=AbC%2B123%3D&se=2030", "GET https://a.blob.core.windows.net/c/x?sv=2020-12-06&sig=REDACTED&se=2030")]
    [TestCase("https://h/c?sig=secret", "https://h/c?sig=REDACTED")]
    [TestCase("AccountName=a;AccountKey=c2VjcmV0;BlobEndpoint=x", "AccountName=a;AccountKey=REDACTED;BlobEndpoint=x")]
    [TestCase("SharedAccessSignature=sv=1&sig=zz;x=1", "SharedAccessSignature=REDACTED;x=1")]
    [TestCase("Authorization: SharedKey acct:c2lnbmF0dXJl", "Authorization: SharedKey REDACTED")]
    [TestCase("Authorization: Bearer eyJ0eXAi.x.y", "Authorization: Bearer REDACTED")]
    [TestCase("nothing secret here; design=ok", "nothing secret here; design=ok")]
    public void Redact_MasksSecrets(string input, string expected) => Assert.That(Redaction.Redact(input), Is.EqualTo(expected));

    [Test]
    public void StoreExceptions_AreRedactedAtConstruction()
    {
        var e = new ArtifactStoreException("failed: https://h/c/x?sv=1&sig=topsecret and AccountKey=abc");
        Assert.That(e.Message, Does.Not.Contain("topsecret").And.Not.Contain("abc"));
    }
}
