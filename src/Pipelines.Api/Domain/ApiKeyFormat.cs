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

/// <summary>
/// When a key's use is written back. Writing <c>last_used_at</c> on every request turned each authenticated request
/// into a row update (WAL, a row lock every request with that key queues on); to the people reading the key list a
/// minute's precision is as useful, so a use is recorded only when the stored one is older than that.
/// </summary>
public static class ApiKeyUse
{
    public static readonly TimeSpan Resolution = TimeSpan.FromMinutes(1);

    public static bool ShouldRecord(DateTimeOffset? lastUsed, DateTimeOffset now) => lastUsed is not { } last || now - last >= Resolution;
}
