using System.Reflection;
using System.Text;

namespace Pipelines.Postgres.Sql;

/// <summary>
/// SQL kept as SQL: one statement per named operation under <c>-- name: Operation</c> headers in embedded
/// <c>*.sql</c> files, so it can be read and reviewed as SQL rather than assembled from strings.
/// </summary>
public sealed class NamedSql
{
    private readonly IReadOnlyDictionary<string, string> _statements;

    private NamedSql(IReadOnlyDictionary<string, string> statements) => _statements = statements;

    /// <summary>Every statement in <paramref name="assembly"/>'s embedded .sql resources whose name contains <paramref name="folder"/> (e.g. ".Sql.").</summary>
    public static NamedSql Load(Assembly assembly, string folder)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.Contains(folder) && n.EndsWith(".sql")))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            string? name = null;
            var body = new StringBuilder();
            void Flush()
            {
                if (name is not null && !result.TryAdd(name, body.ToString().Trim().TrimEnd(';')))
                    throw new InvalidOperationException($"SQL statement '{name}' is defined twice");
            }
            while (reader.ReadLine() is { } line)
            {
                if (line.StartsWith("-- name:", StringComparison.Ordinal))
                {
                    Flush();
                    name = line["-- name:".Length..].Trim();
                    body.Clear();
                }
                else if (name is not null && !line.TrimStart().StartsWith("--", StringComparison.Ordinal))
                {
                    body.AppendLine(line);
                }
            }
            Flush();
        }
        return new NamedSql(result);
    }

    public string Get(string name) =>
        _statements.TryGetValue(name, out var sql) ? sql : throw new KeyNotFoundException($"no SQL statement named '{name}'");
}

/// <summary>The named statements of every subsystem in this assembly (<c>Engine/Sql</c>, <c>Artifacts/Sql</c>, <c>ActivityState/Sql</c>, <c>Monitoring/Sql</c>).</summary>
internal static class SqlCatalog
{
    private static readonly NamedSql Statements = NamedSql.Load(Assembly.GetExecutingAssembly(), ".Sql.");

    public static string Get(string name) => Statements.Get(name);
}
