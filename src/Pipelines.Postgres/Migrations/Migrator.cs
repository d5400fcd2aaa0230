using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.Migrations;

/// <summary>
/// Applies the numbered <c>NNNN_name.sql</c> scripts embedded in this assembly, each in its own transaction: every
/// subsystem keeps its own in a <c>Migrations</c> folder beside its SQL (the tracking endpoint's and the HTTP API's in their
/// projects, embedded here), and this one runner applies them all in version order.
/// Safe when several processes start at once: they queue on an advisory lock, and each later one finds the
/// work done. An applied script whose text has since changed is refused rather than silently skipped.
/// </summary>
public static class Migrator
{
    // Arbitrary but fixed: every Pipelines process agrees on it.
    public const long LockKey = 0x5049_5045_4D49_4752; // "PIPEMIGR"

    public sealed record Migration(int Version, string Name, string Sql)
    {
        public string Checksum => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql)));
    }

    public static IReadOnlyList<Migration> All { get; } = Load();

    /// <summary>The newest schema version this build knows (0 without migrations).</summary>
    public static int NewestVersion => All.Count == 0 ? 0 : All[^1].Version;

    public static async Task<IReadOnlyList<Migration>> ApplyAsync(NpgsqlDataSource db, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        // Nearly always the schema is current: confirm that with one read and no lock, so that short commands do not
        // queue behind a running migration's lock or pay for three statements. Anything else takes the locked path.
        if (await IsCurrentAsync(conn, ct)) return [];
        await Exec(conn, $"SELECT pg_advisory_lock({LockKey})", ct);
        try
        {
            await Exec(conn, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    int PRIMARY KEY,
                    name       text NOT NULL,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, ct);
            var applied = new Dictionary<int, string>();
            await using (var cmd = new NpgsqlCommand("SELECT version, checksum FROM schema_migrations", conn))
            await using (var reader = await cmd.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct)) applied[reader.Get<int>("version")] = reader.Get<string>("checksum");

            var done = new List<Migration>();
            foreach (var m in All)
            {
                if (applied.TryGetValue(m.Version, out var checksum))
                {
                    if (checksum != m.Checksum)
                        throw new InvalidOperationException($"migration {m.Version:D4}_{m.Name} was changed after it was applied; add a new migration instead");
                    continue;
                }
                await using var tx = await conn.BeginTransactionAsync(ct);
                await using (var cmd = new NpgsqlCommand(m.Sql, conn, tx)) await cmd.ExecuteNonQueryAsync(ct);
                await using (var cmd = new NpgsqlCommand("INSERT INTO schema_migrations(version, name, checksum) VALUES (@v, @n, @c)", conn, tx))
                {
                    cmd.Parameters.AddWithValue("v", m.Version);
                    cmd.Parameters.AddWithValue("n", m.Name);
                    cmd.Parameters.AddWithValue("c", m.Checksum);
                    await cmd.ExecuteNonQueryAsync(ct);
                }
                await tx.CommitAsync(ct);
                done.Add(m);
            }
            var newest = NewestVersion;
            if (applied.Count > 0 && applied.Keys.Max() > newest)
                throw new InvalidOperationException($"the database is at schema version {applied.Keys.Max()}, newer than this program knows ({newest}); upgrade Pipelines");
            return done;
        }
        finally
        {
            await Exec(conn, $"SELECT pg_advisory_unlock({LockKey})", CancellationToken.None);
        }
    }

    private static async Task<bool> IsCurrentAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var applied = new Dictionary<int, string>();
        try
        {
            await using var cmd = new NpgsqlCommand("SELECT version, checksum FROM schema_migrations", conn);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) applied[reader.Get<int>("version")] = reader.Get<string>("checksum");
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return false;
        }
        return IsCurrent(applied, All);
    }

    /// <summary>True when exactly the known migrations are applied, each with its current text.</summary>
    public static bool IsCurrent(IReadOnlyDictionary<int, string> applied, IReadOnlyList<Migration> known) =>
        applied.Count == known.Count && known.All(m => applied.TryGetValue(m.Version, out var checksum) && checksum == m.Checksum);

    private static async Task Exec(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static IReadOnlyList<Migration> Load()
    {
        var asm = Assembly.GetExecutingAssembly();
        var list = new List<Migration>();
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.Contains(".Migrations.") && n.EndsWith(".sql")))
        {
            var file = name[(name.IndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..^4];
            // Embedded resource names of files starting with a digit get a leading '_'.
            var digits = file.TrimStart('_');
            var underscore = digits.IndexOf('_');
            using var stream = asm.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            list.Add(new Migration(int.Parse(digits[..underscore]), digits[(underscore + 1)..], reader.ReadToEnd()));
        }
        list.Sort((a, b) => a.Version.CompareTo(b.Version));
        // Numbers must be unique; gaps are allowed so that subsystems developed side by side can each take a
        // block of numbers (engine 1-19, server 20-29, tracking 30-39, ...) without renumbering on merge.
        for (var i = 1; i < list.Count; i++)
            if (list[i].Version == list[i - 1].Version)
                throw new InvalidOperationException($"two migrations share version {list[i].Version}: {list[i - 1].Name} and {list[i].Name}");
        return list;
    }
}
