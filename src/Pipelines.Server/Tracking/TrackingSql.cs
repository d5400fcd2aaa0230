using System.Reflection;
using System.Text;

namespace Pipelines.Server.Tracking;

/// <summary>The tracking store's SQL: <c>-- name: X</c> blocks of the embedded <c>Tracking/Sql/*.sql</c>.</summary>
internal static class TrackingSql
{
    private static readonly IReadOnlyDictionary<string, string> Statements = Load();

    public static string Get(string name) =>
        Statements.TryGetValue(name, out var sql) ? sql : throw new KeyNotFoundException($"no SQL statement named '{name}'");

    private static Dictionary<string, string> Load()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var asm = Assembly.GetExecutingAssembly();
        foreach (var resource in asm.GetManifestResourceNames().Where(n => n.Contains(".Tracking.Sql.") && n.EndsWith(".sql")))
        {
            using var reader = new StreamReader(asm.GetManifestResourceStream(resource)!);
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
        return result;
    }
}
