using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Pipelines.Data.Csv;

/// <summary>
/// Parses numbers straight from UTF-8 bytes with the results of <see cref="double.TryParse(string?, NumberStyles, IFormatProvider?, out double)"/>
/// and <see cref="long.TryParse(string?, NumberStyles, IFormatProvider?, out long)"/> (invariant culture), bit for bit.
/// Plain decimals ([+-]digits[.digits][e[+-]digits]) are converted here: with at most 2^53 as the digits and a power of
/// ten of at most 22 by one exact multiplication or division (Clinger's fast path), otherwise with up to 19 significant
/// digits by a 128-bit multiplication with a truncated power of ten that either proves the correctly rounded result or
/// gives up (the Eisel–Lemire method). Everything else, and every case given up, goes to the framework's parser.
/// </summary>
internal static class Utf8Number
{
    private static readonly double[] ExactPowersOf10 =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary>The whole span as a double, or false where <see cref="ValueParser.TryParseDouble"/> would say false.</summary>
    public static bool TryParseDouble(ReadOnlySpan<byte> v, out double d)
    {
        if (ScanDouble(v, out d) == v.Length && v.Length > 0) return true;
        return TryParseDoubleGeneral(v, out d);
    }

    /// <summary>The framework's parser on the text, with the same guard against words as <see cref="ValueParser.TryParseDouble"/>.</summary>
    public static bool TryParseDoubleGeneral(ReadOnlySpan<byte> v, out double d)
    {
        if (!System.Text.Ascii.IsValid(v))
        {
            // Non-ASCII text is decoded and given to the character parser, exactly as the text reader did.
            var chars = Encoding.UTF8.GetString(v);
            return ValueParser.TryParseDouble(chars, out d);
        }
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out d)) return false;
        foreach (var b in v) if ((uint)(b - '0') <= 9) return true;
        return v.SequenceEqual("NaN"u8) || v.SequenceEqual("nan"u8) || v.SequenceEqual("inf"u8) || v.SequenceEqual("-inf"u8)
               || v.SequenceEqual("Infinity"u8) || v.SequenceEqual("-Infinity"u8);
    }

    /// <summary>
    /// Reads the longest plain decimal at the start of <paramref name="s"/> and returns how many bytes it took (0 when
    /// <paramref name="s"/> does not start with one). The value is what <see cref="double.Parse(string, NumberStyles, IFormatProvider?)"/>
    /// returns for those bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ScanDouble(ReadOnlySpan<byte> s, out double value)
    {
        value = 0;
        var len = s.Length;
        var i = 0;
        var negative = false;
        if (len > 0 && (s[0] == '-' || s[0] == '+')) { negative = s[0] == '-'; i = 1; }
        var start = i;
        while (i < len && s[i] == '0') i++;
        // Up to 19 significant digits fit in w; with more, w overflows unused and the framework parses the text.
        var first = i;
        var w = AccumulateDigits(s, ref i, 0);
        var significant = i - first;
        var q = 0;
        var any = i > start;
        if (i < len && s[i] == '.')
        {
            i++;
            var fraction = i;
            if (significant == 0)
                while (i < len && s[i] == '0') i++;
            var fractionFirst = i;
            w = AccumulateDigits(s, ref i, w);
            significant += i - fractionFirst;
            q = fraction - i;
            any |= i > fraction;
        }
        if (!any) return 0;
        var exact = significant <= 19;
        if (i < len && (s[i] | 0x20) == 'e')
        {
            var j = i + 1;
            var expNegative = false;
            if (j < len && (s[j] == '-' || s[j] == '+')) { expNegative = s[j] == '-'; j++; }
            var exp = 0;
            var expStart = j;
            uint d;
            while (j < len && (d = (uint)(s[j] - '0')) <= 9)
            {
                if (exp < 100_000_000) exp = exp * 10 + (int)d;
                j++;
            }
            // "1e" or "1e+" is not a number with an exponent: the number ends before the 'e' (and the field is then not a number).
            if (j > expStart)
            {
                i = j;
                if (exp >= 100_000_000) exact = false;
                q += expNegative ? -exp : exp;
            }
        }
        if (!exact || !TryCompute(w, q, negative, out value))
        {
            if (!double.TryParse(s[..i], NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return 0;
        }
        return i;
    }

    /// <summary>Appends the decimal digits at <paramref name="i"/> to <paramref name="w"/> (modulo 2^64), eight at a time where it can.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong AccumulateDigits(ReadOnlySpan<byte> s, ref int i, ulong w)
    {
        while (i + 8 <= s.Length && TryEightDigits(BinaryPrimitives.ReadUInt64LittleEndian(s[i..]), out var eight))
        {
            w = w * 100_000_000 + eight;
            i += 8;
        }
        uint d;
        while (i < s.Length && (d = (uint)(s[i] - '0')) <= 9)
        {
            w = w * 10 + d;
            i++;
        }
        return w;
    }

    /// <summary>Eight ASCII digits read as one little-endian word (first digit in the low byte) and their value, combined pairwise in three multiplications.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryEightDigits(ulong v, out ulong value)
    {
        // Every byte is 0x30..0x39 exactly when its high nibble is 3 and stays 3 after adding 6.
        if (((v & 0xF0F0F0F0F0F0F0F0) | (((v + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) >> 4)) != 0x3333333333333333)
        {
            value = 0;
            return false;
        }
        v -= 0x3030303030303030;
        v = v * 10 + (v >> 8);
        v = (((v & 0x000000FF000000FF) * (100 + (1_000_000UL << 32))) + (((v >> 16) & 0x000000FF000000FF) * (1 + (10_000UL << 32)))) >> 32;
        value = (uint)v;
        return true;
    }

    /// <summary>w × 10^q correctly rounded, when it can be shown to be; false sends the text to the framework's parser.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryCompute(ulong w, int q, bool negative, out double value)
    {
        if (w == 0)
        {
            value = negative ? -0.0 : 0.0;
            return true;
        }
        if (w <= 1UL << 53 && q >= -22 && q <= 22)
        {
            // Both operands are exact doubles, so IEEE's single rounding of the product or quotient is the correct result.
            var m = (double)w;
            m = q < 0 ? m / ExactPowersOf10[-q] : m * ExactPowersOf10[q];
            value = negative ? -m : m;
            return true;
        }
        if (!EiselLemire(w, q, out value)) return false;
        if (negative) value = -value;
        return true;
    }

    /// <summary>
    /// w × 10^q for w ≥ 1: T = ⌊10^q / 2^e⌋ has 128 bits, so the 192-bit product w·T (w shifted to 64 bits) is below the true
    /// w·10^q/2^e by less than w·1, i.e. its upper 128 bits X are low by less than 2. The 54 leading bits of X are then those
    /// of the true value unless the bits below them are all ones (a carry could still come), and the rounding to 53 bits is
    /// decided unless those lower bits are all zeros with the result's last bit even (an exact tie cannot be told from a
    /// value just above it). Both doubtful cases, subnormals and overflow return false.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool EiselLemire(ulong w, int q, out double value)
    {
        value = 0;
        if (q < Pow10Table.MinExponent || q > Pow10Table.MaxExponent) return false;
        var index = q - Pow10Table.MinExponent;
        var lz = BitOperations.LeadingZeroCount(w);
        var wn = w << lz;
        var hi = Math.BigMul(wn, Pow10Table.High[index], out var lo);
        var cross = Math.BigMul(wn, Pow10Table.Low[index], out _);
        lo += cross;
        if (lo < cross) hi++;
        if ((hi & 0x1FF) == 0x1FF && lo == ulong.MaxValue) return false;
        var top = (int)(hi >> 63);
        var m54 = hi >> (top + 9);
        if (lo == 0 && (hi & 0x1FF) == 0 && (m54 & 3) == 1) return false;
        var m53 = (m54 + (m54 & 1)) >> 1;
        // value ≈ m54 · 2^(137 + top + e − lz), so after rounding m53 · 2^(that + 1), and the unbiased exponent is that + 53.
        var exponent = 137 + top + Pow10Table.Exponent[index] - lz + 1;
        if (m53 == 1UL << 53)
        {
            m53 >>= 1;
            exponent++;
        }
        var biased = exponent + 52 + 1023;
        if (biased <= 0 || biased >= 0x7FF) return false;
        value = BitConverter.UInt64BitsToDouble(((ulong)biased << 52) | (m53 & ((1UL << 52) - 1)));
        return true;
    }

    /// <summary>
    /// Reads [+-]digits at the start of <paramref name="s"/> as a long; returns the bytes taken, 0 when there is no such
    /// prefix, −1 when it has more than 18 significant digits (the caller then asks the framework's parser).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ScanInt64(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        var i = 0;
        var negative = false;
        if (i < s.Length && (s[i] == '-' || s[i] == '+')) { negative = s[i] == '-'; i++; }
        var start = i;
        while (i < s.Length && s[i] == '0') i++;
        var first = i;
        long v = 0;
        uint d;
        while (i < s.Length && (d = (uint)(s[i] - '0')) <= 9)
        {
            v = v * 10 + d;
            i++;
            if (i - first > 18) return -1;
        }
        if (i == start) return 0;
        value = negative ? -v : v;
        return i;
    }

    /// <summary>The whole span as an integer of the given range, as <see cref="long.TryParse(ReadOnlySpan{byte}, NumberStyles, IFormatProvider?, out long)"/> with a leading sign allowed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryParseInteger(ReadOnlySpan<byte> v, long min, long max, out long value)
    {
        var n = ScanInt64(v, out value);
        if (n != v.Length || n == 0)
        {
            if (!System.Text.Ascii.IsValid(v))
            {
                var ok = long.TryParse(Encoding.UTF8.GetString(v), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
                return ok && value >= min && value <= max;
            }
            if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)) return false;
        }
        return value >= min && value <= max;
    }
}

/// <summary>
/// 10^q for q in [−342, 308] as a 128-bit mantissa T = ⌊10^q / 2^e⌋ in [2^127, 2^128) and its binary exponent e, computed
/// once with exact big-integer arithmetic.
/// </summary>
internal static class Pow10Table
{
    public const int MinExponent = -342;
    public const int MaxExponent = 308;

    public static readonly ulong[] High;
    public static readonly ulong[] Low;
    public static readonly int[] Exponent;

    static Pow10Table()
    {
        var count = MaxExponent - MinExponent + 1;
        High = new ulong[count];
        Low = new ulong[count];
        Exponent = new int[count];
        var mask = (BigInteger.One << 64) - 1;
        for (var q = MinExponent; q <= MaxExponent; q++)
        {
            BigInteger t;
            int e;
            if (q >= 0)
            {
                var n = BigInteger.Pow(10, q);
                e = (int)n.GetBitLength() - 128;
                t = e >= 0 ? n >> e : n << -e;
            }
            else
            {
                // 2^k / 10^-q with k = 127 + bits(10^-q) lies in (2^127, 2^128): 10^-q is never a power of two.
                var d = BigInteger.Pow(10, -q);
                var k = 127 + (int)d.GetBitLength();
                t = (BigInteger.One << k) / d;
                e = -k;
            }
            var i = q - MinExponent;
            High[i] = (ulong)(t >> 64);
            Low[i] = (ulong)(t & mask);
            Exponent[i] = e;
        }
    }
}
