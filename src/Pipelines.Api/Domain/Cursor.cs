using System.Text;

namespace Pipelines.Api.Domain;

/// <summary>Opaque paging cursors: the sort key of the last item returned, base64url-encoded.</summary>
public static class Cursor
{
    public static string Encode(params string[] parts) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', parts))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The parts, or null when the text is not a cursor this server made (the caller answers 400 naming <c>cursor</c>).</summary>
    public static string[]? Decode(string? text, int parts)
    {
        if (string.IsNullOrEmpty(text)) return null;
        try
        {
            var b64 = text.Replace('-', '+').Replace('_', '/');
            b64 += new string('=', (4 - b64.Length % 4) % 4);
            var result = Encoding.UTF8.GetString(Convert.FromBase64String(b64)).Split('\n');
            return result.Length == parts ? result : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
