using System.Text;

namespace Pipelines.Tracking.Tests.Contract;

/// <summary>One recorded request/response pair of shared/mlflow-contract/mlflow-2.17.2-transcript.txt.</summary>
public sealed record Exchange(int Index, string Method, string PathAndQuery, string? JsonBody, int? RawBodyBytes, string ResponseBody, int Status)
{
    public string Endpoint => PathAndQuery.Split('?')[0];
    public override string ToString() => $"#{Index} {Method} {PathAndQuery}";
}

public static class Transcript
{
    public static string PathOf()
    {
        var dir = new DirectoryInfo(Pipelines.Testing.TestPostgres.RepositoryRoot());
        foreach (var candidate in new[] { Path.Combine(dir.FullName, "..", "shared", "mlflow-contract"), "/work/shared/mlflow-contract" })
        {
            var file = Path.Combine(candidate, "mlflow-2.17.2-transcript.txt");
            if (File.Exists(file)) return file;
        }
        throw new FileNotFoundException("mlflow-2.17.2-transcript.txt not found next to the repository (../shared/mlflow-contract)");
    }

    public static IReadOnlyList<Exchange> Load()
    {
        var lines = File.ReadAllLines(PathOf());
        var result = new List<Exchange>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith(">>> ", StringComparison.Ordinal)) continue;
            var request = lines[i][4..];
            var sp = request.IndexOf(' ');
            var method = request[..sp];
            var rest = request[(sp + 1)..];
            var sp2 = rest.IndexOf(' ');
            var path = sp2 < 0 ? rest : rest[..sp2];
            var tail = sp2 < 0 ? "" : rest[(sp2 + 1)..].Trim();
            int? raw = null;
            string? json = null;
            if (tail.StartsWith("(body: ", StringComparison.Ordinal)) raw = int.Parse(tail["(body: ".Length..].Split(' ')[0]);
            else if (tail.Length > 0) json = tail;
            var body = new StringBuilder();
            var j = i + 1;
            for (; !lines[j].StartsWith("<<< HTTP ", StringComparison.Ordinal); j++) body.Append(lines[j]).Append('\n');
            var status = int.Parse(lines[j]["<<< HTTP ".Length..].Trim());
            result.Add(new Exchange(result.Count + 1, method, path, json, raw, body.ToString(), status));
            i = j;
        }
        return result;
    }
}
