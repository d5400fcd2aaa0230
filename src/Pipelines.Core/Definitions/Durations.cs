using System.Globalization;
using System.Text.RegularExpressions;

namespace Pipelines.Core.Definitions;

/// <summary>Durations as written in workflows: <c>500ms</c>, <c>10s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c> and combinations such as <c>1h30m</c>.</summary>
public static partial class Durations
{
    [GeneratedRegex(@"^(?:(?<d>\d+)d)?(?:(?<h>\d+)h)?(?:(?<m>\d+)m(?!s))?(?:(?<s>\d+)s)?(?:(?<ms>\d+)ms)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrEmpty(text)) return false;
        var m = Pattern().Match(text);
        if (!m.Success) return false;
        try
        {
            checked
            {
                long Part(string name) => m.Groups[name].Success ? long.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
                var ms = Part("ms") + 1000 * (Part("s") + 60 * (Part("m") + 60 * (Part("h") + 24 * Part("d"))));
                value = TimeSpan.FromMilliseconds(ms);
                return true;
            }
        }
        catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException) { return false; }
    }

    /// <exception cref="FormatException">the text is not a duration.</exception>
    public static TimeSpan Parse(string text) =>
        TryParse(text, out var value) ? value : throw new FormatException($"'{text}': {Hint}");

    /// <summary>The shortest text <see cref="TryParse"/> reads back as <paramref name="value"/>, e.g. <c>1d</c>, <c>1h30m</c>, <c>0s</c>.</summary>
    public static string Format(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        if (ms <= 0) return "0s";
        var text = new System.Text.StringBuilder();
        foreach (var (unit, size) in new[] { ("d", 86_400_000L), ("h", 3_600_000L), ("m", 60_000L), ("s", 1_000L), ("ms", 1L) })
        {
            if (ms < size) continue;
            text.Append(ms / size).Append(unit);
            ms %= size;
        }
        return text.ToString();
    }

    public const string Hint = "expected a duration such as 500ms, 10s, 5m, 1h, 1d or 1h30m";
}
