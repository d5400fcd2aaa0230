using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipelines.Tracking.Tests.Contract;

/// <summary>
/// Replays every request recorded from MLflow 2.17.2 against the built-in endpoint, in order, and compares the
/// responses field by field: same status, same fields present and absent, same values, except run ids (mapped
/// from recorded to ours as they appear) and server-set timestamps. Errors compare code, status and message
/// (the backend's "Error: (sqlite3…)" suffix aside, which the contract README excludes).
/// </summary>
public class ContractReplayTests
{
    private static readonly HashSet<string> ServerTimestamps = ["creation_time", "last_update_time", "creation_timestamp", "last_updated_timestamp"];

    /// <param name="inProcess">
    /// Through <see cref="Pipelines.Server.InProcessEndpoint"/> (how workers reach the built-in store: the same endpoint
    /// code without a socket) instead of HTTP on a loopback port.
    /// </param>
    [TestCase(false)]
    [TestCase(true)]
    public async Task EveryRecordedExchange_GetsTheRecordedResponse(bool inProcess)
    {
        var exchanges = Transcript.Load();
        Assert.That(exchanges, Has.Count.GreaterThanOrEqualTo(30), "transcript parsed");
        await using var server = await TrackingServerHarness.StartAsync();
        await using var endpoint = new Pipelines.Server.InProcessEndpoint(new Pipelines.Server.PipelinesServerOptions
        {
            DataSource = server.Database.DataSource, ArtifactRoot = server.ArtifactRoot,
        });
        using var http = inProcess
            ? new HttpClient(endpoint.Handler, disposeHandler: false) { BaseAddress = Pipelines.Server.InProcessEndpoint.Address }
            : new HttpClient { BaseAddress = server.Url };
        var ids = new Dictionary<string, string>();
        var failures = new List<string>();

        foreach (var x in exchanges)
        {
            using var request = new HttpRequestMessage(new HttpMethod(x.Method), Map(x.PathAndQuery, ids).TrimStart('/'));
            if (x.JsonBody is not null) request.Content = new StringContent(Map(x.JsonBody, ids), Encoding.UTF8, "application/json");
            if (x.RawBodyBytes is { } n)
            {
                var bytes = Encoding.UTF8.GetBytes("hello mlflow\n");
                Assert.That(bytes, Has.Length.EqualTo(n), "the recorded upload is 'hello mlflow\\n'");
                request.Content = new ByteArrayContent(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } };
            }
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var problems = new List<string>();
            if ((int)response.StatusCode != x.Status) problems.Add($"status {(int)response.StatusCode}, recorded {x.Status}");

            if (!x.ResponseBody.TrimStart().StartsWith('{'))
            {
                if (body.TrimEnd() != x.ResponseBody.TrimEnd()) problems.Add($"body '{body}', recorded '{x.ResponseBody.TrimEnd()}'");
            }
            else
            {
                JsonNode? actual = null;
                try { actual = JsonNode.Parse(body); } catch (JsonException) { problems.Add($"not JSON: {body}"); }
                if (actual is not null)
                {
                    Learn(JsonNode.Parse(x.ResponseBody)!, actual, ids);
                    var expected = JsonNode.Parse(Map(x.ResponseBody, ids))!;
                    if (expected["error_code"] is not null) CompareError(expected, actual, problems);
                    else Compare(expected, actual, "$", problems);
                }
            }
            if (problems.Count > 0) failures.Add($"{x}: {string.Join("; ", problems)}");
        }

        TestContext.Out.WriteLine($"{exchanges.Count - failures.Count}/{exchanges.Count} recorded exchanges match");
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    /// <summary>Learns recorded→actual run ids from a response (run ids are 32 hex characters, unique to each server).</summary>
    private static void Learn(JsonNode expected, JsonNode actual, Dictionary<string, string> ids)
    {
        switch (expected)
        {
            case JsonObject eo when actual is JsonObject ao:
                foreach (var (k, v) in eo)
                {
                    if (v is null || !ao.ContainsKey(k) || ao[k] is null) continue;
                    if (k is "run_id" or "run_uuid" && v is JsonValue ev && ev.TryGetValue<string>(out var rec) && ao[k] is JsonValue av && av.TryGetValue<string>(out var act) && rec.Length == 32)
                        ids.TryAdd(rec, act);
                    else Learn(v, ao[k]!, ids);
                }
                break;
            case JsonArray ea when actual is JsonArray aa:
                for (var i = 0; i < Math.Min(ea.Count, aa.Count); i++)
                    if (ea[i] is not null && aa[i] is not null) Learn(ea[i]!, aa[i]!, ids);
                break;
        }
    }

    private static string Map(string text, Dictionary<string, string> ids)
    {
        foreach (var (recorded, actual) in ids) text = text.Replace(recorded, actual, StringComparison.Ordinal);
        return text;
    }

    private static void CompareError(JsonNode expected, JsonNode actual, List<string> problems)
    {
        var code = (string?)expected["error_code"];
        if ((string?)actual["error_code"] != code) problems.Add($"error_code {actual["error_code"]}, recorded {code}");
        var message = (string)expected["message"]!;
        var cut = message.IndexOf(" Error: (", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];
        if ((string?)actual["message"] != message) problems.Add($"message '{actual["message"]}', recorded '{message}'");
        if (actual is JsonObject o && o.Count != 2) problems.Add($"error has fields {string.Join(",", o.Select(p => p.Key))}");
    }

    public static void Compare(JsonNode? expected, JsonNode? actual, string path, List<string> problems)
    {
        switch (expected)
        {
            case JsonObject eo:
                if (actual is not JsonObject ao) { problems.Add($"{path}: expected an object, got {actual?.ToJsonString() ?? "null"}"); return; }
                foreach (var (k, v) in eo)
                {
                    if (!ao.ContainsKey(k)) { problems.Add($"{path}.{k}: missing"); continue; }
                    if (ServerTimestamps.Contains(k))
                    {
                        if (ao[k] is not JsonValue tv || tv.GetValueKind() != JsonValueKind.Number) problems.Add($"{path}.{k}: not a number");
                        continue;
                    }
                    Compare(v, ao[k], $"{path}.{k}", problems);
                }
                foreach (var (k, _) in ao)
                    if (!eo.ContainsKey(k)) problems.Add($"{path}.{k}: present, but MLflow omits it");
                break;
            case JsonArray ea:
                if (actual is not JsonArray aa) { problems.Add($"{path}: expected an array"); return; }
                if (ea.Count != aa.Count) { problems.Add($"{path}: {aa.Count} items, recorded {ea.Count}"); return; }
                for (var i = 0; i < ea.Count; i++) Compare(ea[i], aa[i], $"{path}[{i}]", problems);
                break;
            default:
                var e = expected?.ToJsonString();
                var a = actual?.ToJsonString();
                // Same JSON type and value: 1700000000000 (number) must not come back as "1700000000000" (string).
                if (expected is JsonValue ev && actual is JsonValue av && ev.GetValueKind() == JsonValueKind.Number && av.GetValueKind() == JsonValueKind.Number)
                {
                    if (ev.GetValue<double>() != av.GetValue<double>()) problems.Add($"{path}: {a}, recorded {e}");
                }
                else if (e != a) problems.Add($"{path}: {a}, recorded {e}");
                break;
        }
    }
}
