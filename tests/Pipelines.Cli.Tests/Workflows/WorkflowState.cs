using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Npgsql;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Workflows;

/// <summary>
/// What a failed run must not change: the model registry (versions, their tags, aliases), every registered artifact
/// and every stored file (artifact store and MLflow artifact folder) under the state folder.
/// </summary>
public sealed record WorkflowState(
    IReadOnlyList<string> Registry,
    IReadOnlyDictionary<Guid, ArtifactRow> Artifacts,
    IReadOnlyDictionary<string, string> Files)
{
    public static async Task<WorkflowState> TakeAsync(TestDatabase db, string home)
    {
        var registry = await WorkflowDb.StringsAsync(db, """
            SELECT format('model %s created=%s updated=%s description=%s', name, creation_timestamp, last_updated_timestamp, description) FROM mlflow_registered_models
            UNION ALL SELECT format('model-tag %s %s=%s', name, key, value) FROM mlflow_registered_model_tags
            UNION ALL SELECT format('version %s v%s source=%s run=%s status=%s stage=%s updated=%s description=%s',
                                    name, version, source, run_id, status, current_stage, last_updated_timestamp, description) FROM mlflow_model_versions
            UNION ALL SELECT format('version-tag %s v%s %s=%s', name, version, key, value) FROM mlflow_model_version_tags
            UNION ALL SELECT format('alias %s %s=v%s', name, alias, version) FROM mlflow_registered_model_aliases
            ORDER BY 1
            """);
        var artifacts = new Dictionary<Guid, ArtifactRow>();
        await using (var conn = await db.DataSource.OpenConnectionAsync())
        await using (var cmd = new NpgsqlCommand("""
            SELECT id, uri, sha256, name, format('size=%s media_type=%s kind=%s schema=%s rows=%s producer=%s/%s created=%s',
                                                 size, media_type, kind, schema, row_count, step_run_id, attempt, created_at)
            FROM artifacts
            """, conn))
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                artifacts[reader.GetGuid(0)] = new ArtifactRow(reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4));

        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var folder in new[] { "artifacts", "mlflow-artifacts" })
        {
            var root = Path.Combine(home, folder);
            if (!Directory.Exists(root)) continue;
            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(home, file);
                if (relative.Split(Path.DirectorySeparatorChar).Contains(".incoming")) continue; // uploads in flight, not stored files
                files[relative] = Sha256(file);
            }
        }
        return new WorkflowState(registry, artifacts, files);
    }

    /// <summary>
    /// Asserts <paramref name="after"/> kept everything this state had: the registry exactly, every artifact row and
    /// every stored file byte for byte (a failed run may add artifacts of its own, never change or drop earlier ones),
    /// and that each registered artifact in the local store still hashes to its registered SHA-256.
    /// </summary>
    public void AssertKeptBy(WorkflowState after, string home)
    {
        Assert.That(after.Registry, Is.EqualTo(Registry), "the model registry (versions, tags, aliases) changed");
        foreach (var (id, row) in Artifacts)
        {
            Assert.That(after.Artifacts.TryGetValue(id, out var now), Is.True, $"artifact {id} is no longer registered ({row})");
            Assert.That(now, Is.EqualTo(row), $"artifact {id}'s registration changed");
        }
        foreach (var (file, hash) in Files)
        {
            Assert.That(after.Files.TryGetValue(file, out var now), Is.True, $"stored file {file} is gone");
            Assert.That(now, Is.EqualTo(hash), $"stored file {file} changed");
        }
        var store = "file://" + Path.Combine(home, "artifacts") + "/";
        foreach (var row in Artifacts.Values.Where(a => a.Uri.StartsWith(store, StringComparison.Ordinal)))
            Assert.That(Sha256(WorkflowDb.LocalPath(row.Uri)), Is.EqualTo(row.Sha256), $"{row.Uri} no longer matches its registered SHA-256");
    }

    public static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>One artifact's registration; <see cref="Rest"/> holds the other columns, compared as they are.</summary>
public sealed record ArtifactRow(string Uri, string Sha256, string? Name, string Rest);

/// <summary>Reading a run's outcome the way the engine recorded it, and the CLI's output without its colours.</summary>
public static partial class WorkflowDb
{
    public static async Task<List<string>> StringsAsync(TestDatabase db, string sql, params (string, object)[] args)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync()) rows.Add(reader.IsDBNull(0) ? "" : reader.GetString(0));
        return rows;
    }

    /// <summary>The run's state and error, and each top-level step's state.</summary>
    public static async Task<RunOutcome> RunAsync(TestDatabase db, Guid runId)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        string state;
        string? error;
        await using (var cmd = new NpgsqlCommand("SELECT state, error FROM runs WHERE id = @id", conn))
        {
            cmd.Parameters.AddWithValue("id", runId);
            await using var reader = await cmd.ExecuteReaderAsync();
            if (!await reader.ReadAsync()) throw new AssertionException($"run {runId} is not in the database");
            state = reader.GetString(0);
            error = reader.IsDBNull(1) ? null : reader.GetString(1);
        }
        var steps = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var cmd = new NpgsqlCommand("SELECT step_id, state FROM step_runs WHERE run_id = @id AND parent_id IS NULL", conn))
        {
            cmd.Parameters.AddWithValue("id", runId);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) steps[reader.GetString(0)] = reader.GetString(1);
        }
        return new RunOutcome(runId, state, error, steps);
    }

    /// <summary>The URIs of the artifacts one step of a run registered under a name.</summary>
    public static Task<List<string>> StepArtifactsAsync(TestDatabase db, Guid runId, string stepId, string name) =>
        StringsAsync(db, """
            SELECT a.uri FROM artifacts a JOIN step_runs s ON s.id = a.step_run_id
            WHERE s.run_id = @run AND s.step_id = @step AND a.name = @name ORDER BY a.created_at
            """, ("run", runId), ("step", stepId), ("name", name));

    public static string LocalPath(string fileUri) => new Uri(fileUri).LocalPath;

    /// <summary>The output as a reader sees it: colours removed and lines joined, since long lines wrap at the console width.</summary>
    public static string Flat(string output) => Ansi().Replace(output, "").Replace("\r", "").Replace("\n", "");

    /// <summary>The run id `pipelines run` prints first.</summary>
    public static Guid RunId(string output) =>
        RunLine().Match(Ansi().Replace(output, "")) is { Success: true } m ? Guid.Parse(m.Groups[1].Value)
            : throw new AssertionException("no 'run ID' line in the output:\n" + output);

    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex Ansi();

    [GeneratedRegex(@"^run ([0-9a-f-]{36})", RegexOptions.Multiline)]
    private static partial Regex RunLine();
}

public sealed record RunOutcome(Guid Id, string State, string? Error, IReadOnlyDictionary<string, string> Steps)
{
    public override string ToString() => $"run {Id} {State}: {Error}; steps: {string.Join(", ", Steps.Select(s => $"{s.Key}={s.Value}"))}";
}
