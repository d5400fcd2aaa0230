using System.Text.RegularExpressions;

namespace Pipelines.Storage;

/// <summary>Removes secrets from text bound for logs and errors: SAS signatures, account keys, bearer tokens.</summary>
public static partial class Redaction
{
    public const string Mask = "REDACTED";

    [GeneratedRegex(@"(?<=[?&]|^|\s|;)(sig)=[^&\s""';]*", RegexOptions.IgnoreCase)]
    private static partial Regex Signature();

    [GeneratedRegex(@"(AccountKey|SharedAccessSignature|SharedAccessKey)=[^;\s""']*", RegexOptions.IgnoreCase)]
    private static partial Regex ConnectionStringSecret();

    [GeneratedRegex(@"(Bearer|SharedKey)\s+[^\s""',]+", RegexOptions.IgnoreCase)]
    private static partial Regex AuthorizationValue();

    public static string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        text = Signature().Replace(text, m => m.Groups[1].Value + "=" + Mask);
        text = ConnectionStringSecret().Replace(text, m => m.Groups[1].Value + "=" + Mask);
        return AuthorizationValue().Replace(text, m => m.Groups[1].Value + " " + Mask);
    }

    /// <summary>A URI as it may be shown: the query's signature masked.</summary>
    public static string Redact(Uri uri) => Redact(uri.ToString());
}
