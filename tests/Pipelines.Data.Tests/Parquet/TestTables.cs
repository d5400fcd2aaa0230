using System.Text;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Parquet;

/// <summary>Deterministic tables covering every supported type, with nulls, extremes and empty strings.</summary>
public static class TestTables
{
    public static Table AllTypes(int rows, int seed, double nullRate = 0.1)
    {
        var rnd = new Random(seed);
        var fields = new List<Field>
        {
            new("b", DataType.Boolean), new("i8", DataType.Int8), new("i16", DataType.Int16), new("i32", DataType.Int32),
            new("i64", DataType.Int64), new("u8", DataType.UInt8), new("u16", DataType.UInt16), new("u32", DataType.UInt32),
            new("u64", DataType.UInt64), new("f32", DataType.Float32), new("f64", DataType.Float64),
            new("d9", DataType.Decimal(9, 2)), new("d18", DataType.Decimal(18, 6)), new("d38", DataType.Decimal(38, 10)),
            new("s", DataType.String), new("lowcard", DataType.String), new("bin", DataType.Binary), new("date", DataType.Date),
            new("ts_ms", DataType.Timestamp(TimeUnit.Millis, false)), new("ts_us_utc", DataType.Timestamp(TimeUnit.Micros, true)),
            new("ts_ns", DataType.Timestamp(TimeUnit.Nanos, false)), new("req_i64", DataType.Int64, Nullable: false),
            new("req_s", DataType.String, Nullable: false),
        };
        var builders = fields.Select(f => ColumnBuilder.Create(f.Type, rows)).ToArray();
        string[] words = ["", "a", "héllo", "日本語", "x y", "quote\"d", "comma,", "line\nbreak", "zz"];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < fields.Count; c++)
            {
                var b = builders[c];
                if (fields[c].Nullable && rnd.NextDouble() < nullRate) { b.AppendNull(); continue; }
                var edge = r % 97 == 0; // extremes now and then
                switch (b)
                {
                    case PrimitiveBuilder<bool> x: x.Append(rnd.Next(2) == 1); break;
                    case PrimitiveBuilder<sbyte> x: x.Append(edge ? sbyte.MinValue : (sbyte)rnd.Next(-128, 128)); break;
                    case PrimitiveBuilder<short> x: x.Append(edge ? short.MaxValue : (short)rnd.Next(-32768, 32768)); break;
                    case PrimitiveBuilder<int> x when fields[c].Type.Kind == TypeKind.Date: x.Append(rnd.Next(-30000, 60000)); break;
                    case PrimitiveBuilder<int> x: x.Append(edge ? int.MinValue : rnd.Next(int.MinValue, int.MaxValue)); break;
                    case PrimitiveBuilder<long> x when fields[c].Type.Kind == TypeKind.Timestamp:
                        x.Append(fields[c].Type.Unit switch
                        {
                            TimeUnit.Millis => rnd.NextInt64(-2_000_000_000_000, 4_000_000_000_000),
                            TimeUnit.Micros => rnd.NextInt64(-2_000_000_000_000_000, 4_000_000_000_000_000),
                            _ => rnd.NextInt64(-2_000_000_000_000_000_000, 4_000_000_000_000_000_000),
                        });
                        break;
                    case PrimitiveBuilder<long> x: x.Append(edge ? long.MinValue : rnd.NextInt64(long.MinValue, long.MaxValue)); break;
                    case PrimitiveBuilder<byte> x: x.Append(edge ? byte.MaxValue : (byte)rnd.Next(256)); break;
                    case PrimitiveBuilder<ushort> x: x.Append(edge ? ushort.MaxValue : (ushort)rnd.Next(65536)); break;
                    case PrimitiveBuilder<uint> x: x.Append(edge ? uint.MaxValue : (uint)rnd.NextInt64(0, uint.MaxValue)); break;
                    case PrimitiveBuilder<ulong> x: x.Append(edge ? ulong.MaxValue : (ulong)rnd.NextInt64() * 2); break;
                    case PrimitiveBuilder<float> x: x.Append(r % 89 == 0 ? float.NaN : r % 83 == 0 ? -0f : (float)(rnd.NextDouble() * 2e6 - 1e6)); break;
                    case PrimitiveBuilder<double> x: x.Append(r % 89 == 0 ? double.PositiveInfinity : r % 83 == 0 ? -0d : rnd.NextDouble() * 1e12 - 5e11); break;
                    case PrimitiveBuilder<Int128> x:
                    {
                        var p = fields[c].Type.Precision;
                        var max = Int128.Parse(new string('9', p));
                        var v = edge ? -max : (Int128)rnd.NextInt64() * (p > 18 ? rnd.NextInt64(1, long.MaxValue) : 1) % (max + 1);
                        x.Append(v);
                        break;
                    }
                    case BinaryBuilder x when fields[c].Name == "lowcard": x.Append(words[rnd.Next(4)]); break;
                    case BinaryBuilder x when fields[c].Type.Kind == TypeKind.String:
                        x.Append(words[rnd.Next(words.Length)] + (rnd.Next(3) == 0 ? "" : rnd.Next(100000).ToString()));
                        break;
                    case BinaryBuilder x:
                    {
                        var bytes = new byte[rnd.Next(0, 12)];
                        rnd.NextBytes(bytes);
                        x.Append(bytes);
                        break;
                    }
                }
            }
        }
        return new Table(new Schema(fields), builders.Select(b => b.Build()).ToArray());
    }
}
