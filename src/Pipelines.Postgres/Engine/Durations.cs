using System.Text.RegularExpressions;

namespace Pipelines.Postgres.Engine;

/// <summary>Durations as workflows write them: 500ms, 10s, 5m, 1h, 1d, or combinations like 1h30m.</summary>
public static partial class Durations
{
    public static TimeSpan Parse(string text)
    {
        var matches = Part().Matches(text.Trim());
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)) != text.Trim())
            throw new FormatException($"'{text}' is not a duration (examples: 500ms, 10s, 5m, 1h30m, 1d)");
        var total = TimeSpan.Zero;
        foreach (Match m in matches)
        {
            var n = double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                _ => TimeSpan.FromDays(n),
            };
        }
        return total;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|s|m|h|d)")]
    private static partial Regex Part();
}
