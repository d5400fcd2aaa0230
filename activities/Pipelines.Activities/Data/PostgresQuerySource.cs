using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Pipelines.Activities.Data;

/// <summary>
/// Reads the result of a PostgreSQL query into a table. With a watermark, only rows whose watermark column is
/// greater than the last committed value are read; the column's maximum is returned to become the next watermark.
/// </summary>
internal static class PostgresQuerySource
{
    // The watermark is passed as text and cast to the column's type; only these types are accepted, so the
    // stored type name can never inject SQL.
    private static readonly HashSet<string> WatermarkTypes =
    [
        "smallint", "integer", "bigint", "numeric", "real", "double precision", "date",
        "timestamp without time zone", "timestamp with time zone", "text", "character varying",
    ];

    public sealed record Watermark(string Column, string Type, string Value)
    {
        public JsonObject ToJson() => new() { ["column"] = Column, ["type"] = Type, ["value"] = Value };

        public static Watermark? FromJson(JsonNode? n) => n is JsonObject o
            ? new Watermark(o["column"]!.GetValue<string>(), o["type"]!.GetValue<string>(), o["value"]!.GetValue<string>())
            : null;
    }

    public static string DefaultKey(string connection, string query, string column)
    {
        var b = new NpgsqlConnectionStringBuilder(connection);
        var text = $"{b.Host}:{b.Port}/{b.Database}\n{query}\n{column}";
        return "ingest:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    public static async Task<(Table Table, Watermark? Next)> ReadAsync(string connection, string query, string? watermarkColumn, Watermark? previous,
        CancellationToken ct)
    {
        var sql = query;
        if (watermarkColumn is not null)
        {
            sql = $"SELECT * FROM ({query.TrimEnd().TrimEnd(';')}) AS pipelines_source";
            if (previous is not null)
            {
                if (!WatermarkTypes.Contains(previous.Type))
                    throw new ActivityException($"watermark column '{watermarkColumn}' has type {previous.Type}, which cannot be a watermark", retryable: false);
                sql += $" WHERE {Quote(watermarkColumn)} > CAST(@watermark AS {previous.Type})";
            }
        }
        NpgsqlDataSource db;
        try { db = NpgsqlDataSource.Create(connection); }
        catch (ArgumentException e) { throw new ActivityException($"input 'connection' is not a valid connection string: {e.Message}", retryable: false, e); }
        await using (db)
        {
            try
            {
                await using var cmd = db.CreateCommand(sql);
                if (previous is not null) cmd.Parameters.AddWithValue("watermark", previous.Value);
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                var fields = new List<Field>();
                var builders = new List<ColumnBuilder>();
                var pgTypes = new List<string>();
                // The user's query decides the columns, so they are read by position and named from the result's own
                // metadata: the by-name reading of the project's own queries (issue 14) does not apply here.
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    var type = TypeOf(reader.GetDataTypeName(i));
                    fields.Add(new Field(reader.GetName(i), type));
                    builders.Add(ColumnBuilder.Create(type));
                    pgTypes.Add(reader.GetDataTypeName(i));
                }
                var wmIndex = watermarkColumn is null ? -1 : fields.FindIndex(f => f.Name == watermarkColumn);
                if (watermarkColumn is not null && wmIndex < 0)
                    throw new ActivityException($"watermark column '{watermarkColumn}' is not in the query's result (columns: {string.Join(", ", fields.Select(f => f.Name))})", retryable: false);
                if (wmIndex >= 0 && !WatermarkTypes.Contains(pgTypes[wmIndex]))
                    throw new ActivityException($"watermark column '{watermarkColumn}' has type {pgTypes[wmIndex]}, which cannot be a watermark", retryable: false);
                object? max = null;
                while (await reader.ReadAsync(ct))
                {
                    for (var i = 0; i < builders.Count; i++) Append(builders[i], reader, i, pgTypes[i]);
                    if (wmIndex >= 0 && !reader.IsDBNull(wmIndex))
                    {
                        var v = reader.GetValue(wmIndex);
                        if (max is null || ((IComparable)v).CompareTo(max) > 0) max = v;
                    }
                }
                var table = new Table(new Schema(fields), builders.Select(b => b.Build()).ToArray());
                var next = max is null ? previous : new Watermark(watermarkColumn!, pgTypes[wmIndex], Format(max));
                return (table, next);
            }
            catch (PostgresException e)
            {
                // Errors in the query itself (syntax, missing table, permissions) will not pass on a retry.
                throw new ActivityException($"query failed: {e.MessageText} ({e.SqlState})", retryable: e.IsTransient, e);
            }
            catch (NpgsqlException e)
            {
                throw new ActivityException($"cannot reach the source database: {e.Message}", retryable: true, e);
            }
        }
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

    private static string Format(object v) => v switch
    {
        DateTime t => t.ToString(t.Kind == DateTimeKind.Utc ? "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'" : "yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString()!,
    };

    private static DataType TypeOf(string pgType) => pgType switch
    {
        "boolean" => DataType.Boolean,
        "smallint" => DataType.Int16,
        "integer" => DataType.Int32,
        "bigint" => DataType.Int64,
        "real" => DataType.Float32,
        "double precision" or "numeric" => DataType.Float64,
        "date" => DataType.Date,
        "timestamp without time zone" => DataType.Timestamp(TimeUnit.Micros, isUtc: false),
        "timestamp with time zone" => DataType.Timestamp(TimeUnit.Micros, isUtc: true),
        "bytea" => DataType.Binary,
        _ => DataType.String,
    };

    private static void Append(ColumnBuilder b, NpgsqlDataReader r, int i, string pgType)
    {
        if (r.IsDBNull(i)) { b.AppendNull(); return; }
        switch (b)
        {
            case PrimitiveBuilder<bool> x: x.Append(r.GetBoolean(i)); break;
            case PrimitiveBuilder<short> x: x.Append(r.GetInt16(i)); break;
            case PrimitiveBuilder<int> x when pgType == "date": x.Append(r.GetFieldValue<DateOnly>(i).DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber); break;
            case PrimitiveBuilder<int> x: x.Append(r.GetInt32(i)); break;
            case PrimitiveBuilder<long> x when pgType.StartsWith("timestamp", StringComparison.Ordinal):
                x.Append((r.GetDateTime(i).Ticks - DateTime.UnixEpoch.Ticks) / 10);
                break;
            case PrimitiveBuilder<long> x: x.Append(r.GetInt64(i)); break;
            case PrimitiveBuilder<float> x: x.Append(r.GetFloat(i)); break;
            case PrimitiveBuilder<double> x: x.Append(Convert.ToDouble(r.GetValue(i), CultureInfo.InvariantCulture)); break;
            case BinaryBuilder x when pgType == "bytea": x.Append(r.GetFieldValue<byte[]>(i)); break;
            case BinaryBuilder x: x.Append(Convert.ToString(r.GetValue(i), CultureInfo.InvariantCulture) ?? ""); break;
            default: throw new InvalidOperationException($"no reader for column type {b.Type}");
        }
    }
}
