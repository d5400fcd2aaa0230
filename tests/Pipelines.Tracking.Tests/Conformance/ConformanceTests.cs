using System.Text.Json.Nodes;
using Pipelines.Testing;

namespace Pipelines.Tracking.Tests.Conformance;

/// <summary>Starts the real MLflow server once for this namespace's tests and stops it after them.</summary>
[SetUpFixture]
public sealed class RealMlflowFixture
{
    [OneTimeTearDown]
    public Task StopAsync() => RealMlflow.StopSharedAsync();
}

/// <summary>
/// One conformance suite, two servers: the MLflow Python client's everyday calls (client_scenarios.py: experiments,
/// runs, params, metrics with steps, tags, artifacts and the proxy's path checks, datasets, nested runs, search with
/// filters, order_by and pages, metric history, lifecycle, a model logged from Python, registry with aliases,
/// stages, tag deletes, <c>models:/</c> loads, deletes) run against the real MLflow 2.17 server and against the
/// built-in endpoint; their results must agree field by field, ids and times aside.
/// </summary>
public class ConformanceTests
{
    private static string Script => Path.Combine(AppContext.BaseDirectory, "Conformance", "client_scenarios.py");

    [Test]
    public async Task PythonClientScenarios_AnswerTheSameOnTheBuiltInEndpointAsOnTheRealServer()
    {
        var real = await RealMlflow.SharedAsync();
        await using var builtIn = await TrackingServerHarness.StartAsync();
        var work = Directory.CreateTempSubdirectory("conformance-").FullName;
        try
        {
            var expectedPath = Path.Combine(work, "real.json");
            var actualPath = Path.Combine(work, "built-in.json");
            // The two runs share nothing (own server, own prefix, own output file), so they run side by side.
            await Task.WhenAll(
                real.PythonAsync(Script, ["c" + Guid.NewGuid().ToString("N")[..6], expectedPath]),
                RealMlflow.Python(Script, ["c" + Guid.NewGuid().ToString("N")[..6], actualPath],
                    new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = builtIn.Url.ToString().TrimEnd('/') }));
            var expected = JsonNode.Parse(await File.ReadAllTextAsync(expectedPath))!.AsObject();
            var actual = JsonNode.Parse(await File.ReadAllTextAsync(actualPath))!.AsObject();
            var differences = new List<string>();
            Compare("", expected, actual, differences);
            TestContext.Out.WriteLine($"{expected.Count} scenario steps compared");
            // The scenarios ran to the end on both, and what they check holds on the reference itself.
            Assert.That(expected.Count, Is.GreaterThan(40));
            Assert.That(expected["registry.load.alias"]!.GetValue<double>(), Is.LessThanOrEqualTo(1e-6));
            Assert.That(expected["artifacts.put.encoded-dotdot"]!["status"]!.GetValue<int>(), Is.EqualTo(400));
            Assert.That(expected["search.datasets.name"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "parent" }));
            Assert.That(differences, Is.Empty, "built-in endpoint vs real MLflow (path: real | built-in)");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Every field of <paramref name="expected"/> and <paramref name="actual"/>, recursively; a difference names its path.</summary>
    internal static void Compare(string path, JsonNode? expected, JsonNode? actual, List<string> differences)
    {
        switch (expected, actual)
        {
            case (JsonObject e, JsonObject a):
                foreach (var key in e.Select(p => p.Key).Union(a.Select(p => p.Key)).Order(StringComparer.Ordinal))
                    Compare($"{path}/{key}", e[key], a[key], differences);
                break;
            case (JsonArray e, JsonArray a) when e.Count == a.Count:
                for (var i = 0; i < e.Count; i++) Compare($"{path}[{i}]", e[i], a[i], differences);
                break;
            default:
                var (ej, aj) = (expected?.ToJsonString() ?? "null", actual?.ToJsonString() ?? "null");
                if (ej != aj) differences.Add($"{path}: {Cut(ej)} | {Cut(aj)}");
                break;
        }
    }

    private static string Cut(string s) => s.Length > 300 ? s[..300] + "…" : s;
}
