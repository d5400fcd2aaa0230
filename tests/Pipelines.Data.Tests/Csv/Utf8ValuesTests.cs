using System.Globalization;
using System.Text;
using Pipelines.Data.Csv;

namespace Pipelines.Data.Tests.Csv;

/// <summary>Dates, timestamps and booleans read from bytes against the character reader's <see cref="ValueParser"/>, valid and invalid alike.</summary>
public class Utf8ValuesTests
{
    private static IEnumerable<string> DateLikeTexts(int count, int seed)
    {
        var rng = new Random(seed);
        string Two(int max) => rng.Next(max + 1).ToString("00", CultureInfo.InvariantCulture);
        for (var i = 0; i < count; i++)
        {
            var year = rng.Next(6) switch { 0 => "0000", 1 => rng.Next(1, 10).ToString("0000", CultureInfo.InvariantCulture), 2 => "2024", 3 => "1900", _ => rng.Next(1, 10_000).ToString("0000", CultureInfo.InvariantCulture) };
            var date = $"{year}-{Two(13)}-{Two(32)}";
            if (rng.Next(10) == 0) date = date.Replace('-', rng.Next(2) == 0 ? '/' : '.');
            yield return date;
            var separator = rng.Next(5) switch { 0 => 'T', 1 => 'x', _ => ' ' };
            var time = $"{Two(25)}:{Two(61)}:{Two(61)}";
            yield return $"{date}{separator}{time}";
            yield return rng.Next(6) switch
            {
                0 => $"{date} {time}.{rng.Next(1000)}",
                1 => $"{date}T{time}Z",
                2 => $"{date} {time}+02:00",
                3 => $"{date} {Two(23)}:{Two(59)}",
                4 => $" {date}",
                _ => $"{date}{separator}{time[..^1]}a",
            };
        }
    }

    [Test]
    public void Dates_AgreeWithTheCharacterParser()
    {
        var failures = new List<string>();
        foreach (var text in DateLikeTexts(60_000, 1))
        {
            var expectedOk = ValueParser.TryParseDate(text, out var expected);
            var ok = Utf8Values.TryParseDate(Encoding.UTF8.GetBytes(text), out var actual);
            if (ok != expectedOk || (ok && actual != expected)) failures.Add($"'{text}': {expectedOk}/{expected} vs {ok}/{actual}");
        }
        Assert.That(failures.Take(20), Is.Empty);
    }

    [Test]
    public void Timestamps_AgreeWithTheCharacterParser()
    {
        var failures = new List<string>();
        foreach (var text in DateLikeTexts(60_000, 2))
        {
            var expectedOk = ValueParser.TryParseTimestamp(text, out var expected, out var expectedUtc);
            var ok = Utf8Values.TryParseTimestamp(Encoding.UTF8.GetBytes(text), out var actual, out var utc);
            if (ok != expectedOk || (ok && (actual != expected || utc != expectedUtc))) failures.Add($"'{text}': {expectedOk}/{expected}/{expectedUtc} vs {ok}/{actual}/{utc}");
        }
        Assert.That(failures.Take(20), Is.Empty);
    }

    [TestCase("true")]
    [TestCase("False")]
    [TestCase("TRUE")]
    [TestCase(" true ")]
    [TestCase("true\0")]
    [TestCase("yes")]
    [TestCase("1")]
    [TestCase("")]
    [TestCase("fals")]
    [TestCase("trué")]
    public void Booleans_AgreeWithTheFramework(string text)
    {
        var expectedOk = bool.TryParse(text, out var expected);
        Assert.That(Utf8Values.TryParseBool(Encoding.UTF8.GetBytes(text), out var actual), Is.EqualTo(expectedOk));
        Assert.That(actual, Is.EqualTo(expected));
    }
}
