using Azure.Core;

namespace Pipelines.Storage.Azure;

/// <summary>How requests to the Blob service are authorized. <see cref="ToString"/> never shows the secret.</summary>
public abstract record BlobCredential
{
    private BlobCredential() { }

    /// <summary>Shared Key: every request signed with the account key (HMAC-SHA256).</summary>
    public sealed record SharedKey(string AccountName, byte[] Key) : BlobCredential
    {
        public override string ToString() => $"SharedKey({AccountName})";
    }

    /// <summary>A SAS token appended to every request's query (without the leading '?').</summary>
    public sealed record Sas(string Token) : BlobCredential
    {
        public override string ToString() => "SAS(" + Redaction.Redact(Token) + ")";
    }

    /// <summary>Entra ID: a bearer token for https://storage.azure.com from an Azure.Identity credential.</summary>
    public sealed record EntraId(TokenCredential Credential) : BlobCredential
    {
        public override string ToString() => $"EntraId({Credential.GetType().Name})";
    }

    public sealed record Anonymous : BlobCredential
    {
        public override string ToString() => "Anonymous";
    }
}
