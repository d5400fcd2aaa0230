using System.Globalization;
using System.Numerics;
using System.Text;
using Pipelines.Data.Csv;

namespace Pipelines.Data.Tests.Csv;

/// <summary>
/// The byte-level number parser against the framework's: every text must give the same answer (parsed or not) and
/// the same bits as <see cref="double.TryParse(string?, NumberStyles, IFormatProvider?, out double)"/> (through the
/// character reader's <see cref="ValueParser.TryParseDouble"/>, which adds the guard against words).
/// </summary>
public class Utf8NumberTests
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Checks every text and reports the first mismatches (asserting one by one would make a million texts slow).</summary>
    private static void AssertAllAgree(IEnumerable<string> texts)
    {
        var failures = new List<string>();
        var count = 0;
        foreach (var text in texts)
        {
            count++;
            var expectedOk = ValueParser.TryParseDouble(text, out var expected);
            var ok = Utf8Number.TryParseDouble(Encoding.UTF8.GetBytes(text), out var actual);
            if (ok != expectedOk || (ok && BitConverter.DoubleToInt64Bits(actual) != BitConverter.DoubleToInt64Bits(expected)))
            {
                failures.Add($"'{text}': expected {(expectedOk ? expected.ToString("R", Invariant) : "no number")}, got {(ok ? actual.ToString("R", Invariant) : "no number")}");
                if (failures.Count == 20) break;
            }
        }
        Assert.That(count, Is.GreaterThan(0));
        Assert.That(failures, Is.Empty, $"{failures.Count} of {count} texts disagree");
    }

    private static double RandomDouble(Random rng)
    {
        while (true)
        {
            var d = BitConverter.Int64BitsToDouble(rng.NextInt64(long.MinValue, long.MaxValue));
            if (double.IsFinite(d)) return d;
        }
    }

    [Test]
    public void RandomDoubles_InShortestRoundTripForm_ParseToTheSameBits()
    {
        var rng = new Random(1);
        AssertAllAgree(Enumerable.Range(0, 300_000).Select(_ => RandomDouble(rng).ToString("R", Invariant)));
    }

    [Test]
    public void RandomDoubles_InManyFormats_ParseToTheSameBits()
    {
        var rng = new Random(2);
        string[] formats = ["E0", "E3", "E8", "E14", "E15", "E16", "E17", "E18", "E20", "e25", "G5", "G15", "G17", "F0", "F4", "F12", "N0"];
        IEnumerable<string> Texts()
        {
            for (var i = 0; i < 200_000; i++)
            {
                // Magnitudes spread over the whole range, and often near 1 where decimals are short.
                var d = i % 2 == 0 ? RandomDouble(rng) : (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-30, 30));
                var format = formats[rng.Next(formats.Length)];
                if (format.StartsWith('F') && Math.Abs(d) > 1e30) format = "R";
                var text = d.ToString(format, Invariant);
                if (format == "N0") text = text.Replace(",", "");
                yield return rng.Next(10) == 0 && !text.StartsWith('-') ? "+" + text : text;
            }
        }
        AssertAllAgree(Texts());
    }

    [Test]
    public void DigitAndExponentShapes_ParseToTheSameBits()
    {
        var rng = new Random(3);
        IEnumerable<string> Texts()
        {
            for (var i = 0; i < 300_000; i++)
            {
                var sb = new StringBuilder();
                var sign = rng.Next(4);
                if (sign == 1) sb.Append('-');
                if (sign == 2) sb.Append('+');
                sb.Append('0', rng.Next(4) == 0 ? rng.Next(1, 6) : 0);
                var digits = rng.Next(4) switch { 0 => rng.Next(1, 8), 1 => rng.Next(8, 17), 2 => rng.Next(15, 21), _ => rng.Next(1, 40) };
                var mantissa = new StringBuilder();
                for (var k = 0; k < digits; k++) mantissa.Append((char)('0' + (k == 0 ? rng.Next(1, 10) : rng.Next(10))));
                if (rng.Next(5) == 0) mantissa.Append('0', rng.Next(1, 8));
                var dot = rng.Next(3) == 0 ? -1 : rng.Next(0, mantissa.Length + 1);
                if (dot >= 0) mantissa.Insert(dot, '.');
                if (dot == 0 && rng.Next(2) == 0) mantissa.Insert(0, "0.00000".AsSpan(0, rng.Next(2, 8)));
                sb.Append(mantissa);
                if (rng.Next(3) > 0)
                {
                    sb.Append(rng.Next(2) == 0 ? 'e' : 'E');
                    var expSign = rng.Next(3);
                    if (expSign == 1) sb.Append('-');
                    if (expSign == 2) sb.Append('+');
                    var exponent = rng.Next(4) switch { 0 => rng.Next(0, 23), 1 => rng.Next(20, 40), 2 => rng.Next(280, 360), _ => rng.Next(0, 400) };
                    sb.Append(exponent);
                }
                yield return sb.ToString();
            }
        }
        AssertAllAgree(Texts());
    }

    [Test]
    public void ExactHalfwayCases_RoundToEven_AndTheirNeighboursRoundAway()
    {
        // Midpoints between neighbouring doubles are exact integers above 2^53: the parser must see the tie.
        var rng = new Random(4);
        IEnumerable<string> Texts()
        {
            for (var i = 0; i < 50_000; i++)
            {
                var d = (double)rng.NextInt64(1L << 53, long.MaxValue);
                var next = Math.BitIncrement(d);
                var mid = (new BigInteger(d) + new BigInteger(next)) / 2;
                foreach (var m in new[] { mid, mid - 1, mid + 1 })
                {
                    var s = m.ToString(Invariant);
                    yield return s;
                    yield return s + ".000";
                    yield return s[..1] + "." + s[1..] + "e" + (s.Length - 1);
                    yield return s + "0e-1";
                }
            }
            // Ties and near-ties between 2^64 and 2^70 have 20 digits or more and go to the framework's parser.
            for (var i = 0; i < 5_000; i++)
            {
                var d = Math.ScaleB(1 + rng.NextDouble(), rng.Next(64, 70));
                var mid = (new BigInteger(d) + new BigInteger(Math.BitIncrement(d))) / 2;
                yield return mid.ToString(Invariant);
            }
        }
        AssertAllAgree(Texts());
    }

    [TestCase("9007199254740993")]
    [TestCase("9007199254740992")]
    [TestCase("9007199254740993e22")]
    [TestCase("9007199254740993e-22")]
    [TestCase("9007199254740992e23")]
    [TestCase("1e22")]
    [TestCase("1e23")]
    [TestCase("-1e-22")]
    [TestCase("1e-23")]
    [TestCase("1.7976931348623157e308")]
    [TestCase("1.7976931348623158e308")]
    [TestCase("1.7976931348623159e308")]
    [TestCase("1e309")]
    [TestCase("2.2250738585072014e-308")]
    [TestCase("2.2250738585072011e-308")]
    [TestCase("4.9406564584124654e-324")]
    [TestCase("2.4703282292062328e-324")]
    [TestCase("2.4703282292062327e-324")]
    [TestCase("1e-342")]
    [TestCase("1e-343")]
    [TestCase("1e-400")]
    [TestCase("0e999999999999")]
    [TestCase("-0")]
    [TestCase("-0.0e-5")]
    [TestCase("+0")]
    [TestCase("0.1")]
    [TestCase("0.30000000000000004")]
    [TestCase(".5")]
    [TestCase("5.")]
    [TestCase("-.5e+3")]
    [TestCase("12345678901234567890")]
    [TestCase("1234567890123456789")]
    [TestCase("18446744073709551615")]
    [TestCase("18446744073709551616")]
    [TestCase("0.000000000000000000000000000001")]
    [TestCase("1e99999999999999999999")]
    [TestCase("NaN")]
    [TestCase("nan")]
    [TestCase("-Infinity")]
    [TestCase("Infinity")]
    [TestCase("infinity")]
    [TestCase("inf")]
    [TestCase("1e")]
    [TestCase("1e+")]
    [TestCase("e5")]
    [TestCase(".")]
    [TestCase("-")]
    [TestCase("")]
    [TestCase(" 1.5 ")]
    [TestCase("1.5.2")]
    [TestCase("1,5")]
    [TestCase("0x10")]
    [TestCase("١٢")]
    [TestCase("1\u00a0")]
    public void EdgeCases_AgreeWithTheFramework(string text) => AssertAllAgree([text]);

    [Test]
    public void Integers_AgreeWithTheFrameworkForEveryWidth()
    {
        var rng = new Random(5);
        var texts = new List<string>
        {
            "0", "-0", "+0", "+7", "007", "-007", "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
            "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "0000000000000000000000001", "99999999999999999999",
            "", "+", "-", "1.0", "1e3", " 1", "1 ", "12a", "١", "32767", "32768", "-32769", "127", "128", "-128", "-129",
        };
        for (var i = 0; i < 100_000; i++)
        {
            var v = rng.Next(4) switch { 0 => rng.Next(), 1 => rng.NextInt64(), 2 => -rng.NextInt64(), _ => rng.Next(-300, 300) };
            texts.Add(v.ToString(Invariant));
        }
        var failures = new List<string>();
        foreach (var text in texts)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var okLong = long.TryParse(text, NumberStyles.AllowLeadingSign, Invariant, out var expectedLong);
            var okInt = int.TryParse(text, NumberStyles.AllowLeadingSign, Invariant, out var expectedInt);
            if (Utf8Number.TryParseInteger(bytes, long.MinValue, long.MaxValue, out var l) != okLong || (okLong && l != expectedLong))
                failures.Add($"int64 '{text}'");
            if (Utf8Number.TryParseInteger(bytes, int.MinValue, int.MaxValue, out var n) != okInt || (okInt && n != expectedInt))
                failures.Add($"int32 '{text}'");
        }
        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void ScanDouble_StopsAtTheEndOfTheNumber()
    {
        Assert.That(Utf8Number.ScanDouble("1.25,x"u8, out var a), Is.EqualTo(4));
        Assert.That(a, Is.EqualTo(1.25));
        Assert.That(Utf8Number.ScanDouble("-3e2\r\n"u8, out var b), Is.EqualTo(4));
        Assert.That(b, Is.EqualTo(-300));
        Assert.That(Utf8Number.ScanDouble("7e,"u8, out var c), Is.EqualTo(1), "an 'e' without digits is not part of the number");
        Assert.That(c, Is.EqualTo(7));
        Assert.That(Utf8Number.ScanDouble("abc"u8, out _), Is.EqualTo(0));
        Assert.That(Utf8Number.ScanDouble("-,"u8, out _), Is.EqualTo(0));
    }
}
