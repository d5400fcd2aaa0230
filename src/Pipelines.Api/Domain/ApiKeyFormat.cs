using System.Security.Cryptography;
using System.Text;

namespace Pipelines.Api.Domain;

/// <summary>
/// API keys look like <c>pk_</c> + 43 base64url characters (256 random bits). Only their SHA-256 is stored: with
/// that much entropy a fast hash is enough, and it lets a lookup find the key by hash in one indexed query.
/// </summary>
public static class ApiKeyFormat
{
    public const string Prefix = "pk_";

    public static string NewKey() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static bool LooksLikeKey(string? text) => text is not null && text.StartsWith(Prefix, StringComparison.Ordinal) && text.Length > Prefix.Length + 20;

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static string NewToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
