using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Tracking.Tests.Client;

public class LogBatchChunkerTests
{
    [Test]
    public void Split_RespectsEveryLimit_AndKeepsOrder()
    {
        var metrics = Enumerable.Range(0, 2345).Select(i => new Metric("m", i, i, i)).ToList();
        var ps = Enumerable.Range(0, 250).Select(i => new Param($"p{i}", "v")).ToList();
        var tags = Enumerable.Range(0, 101).Select(i => new Tag($"t{i}", "v")).ToList();
        var batches = LogBatchChunker.Split("run", metrics, ps, tags);
        foreach (var b in batches)
        {
            Assert.That(b.Metrics?.Count ?? 0, Is.LessThanOrEqualTo(1000));
            Assert.That(b.Params?.Count ?? 0, Is.LessThanOrEqualTo(100));
            Assert.That(b.Tags?.Count ?? 0, Is.LessThanOrEqualTo(100));
            Assert.That((b.Metrics?.Count ?? 0) + (b.Params?.Count ?? 0) + (b.Tags?.Count ?? 0), Is.LessThanOrEqualTo(1000));
        }
        Assert.That(batches.SelectMany(b => b.Metrics ?? []), Is.EqualTo(metrics));
        Assert.That(batches.SelectMany(b => b.Params ?? []), Is.EqualTo(ps));
        Assert.That(batches.SelectMany(b => b.Tags ?? []), Is.EqualTo(tags));
        Assert.That(batches[0].Params, Is.Not.Null, "params first, so a changed param fails before metrics are written");
    }

    [Test]
    public void Split_RespectsTheRequestByteLimit()
    {
        // 160 items (under every count limit) but about 1.16 MB: only the byte limit forces a split.
        var ps = Enumerable.Range(0, 60).Select(i => new Param($"p{i}", new string('y', 6000))).ToList();
        var tags = Enumerable.Range(0, 100).Select(i => new Tag($"t{i}", new string('x', 8000))).ToList();
        var batches = LogBatchChunker.Split("run", [], ps, tags);
        Assert.That(batches, Has.Count.GreaterThan(1));
        foreach (var b in batches)
            Assert.That(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(b, MlflowJson.Options).Length, Is.LessThanOrEqualTo(1_000_000));
    }

    [Test]
    public void ContractComparison_ReportsADifference()
    {
        var problems = new List<string>();
        Contract.ContractReplayTests.Compare(System.Text.Json.Nodes.JsonNode.Parse("{\"a\":{\"start_time\":1,\"x\":\"1\"}}"),
            System.Text.Json.Nodes.JsonNode.Parse("{\"a\":{\"start_time\":\"1\",\"y\":2}}"), "$", problems);
        Assert.That(problems, Has.Count.EqualTo(3), string.Join("; ", problems)); // string-typed int64, missing x, extra y
    }

    [Test]
    public void Split_NothingToLog_NoRequests() =>
        Assert.That(LogBatchChunker.Split("run", [], [], []), Is.Empty);
}

public class OptionsTests
{
    [Test]
    public void Backoff_DoublesUpToTheCap_WithinJitter()
    {
        var initial = TimeSpan.FromMilliseconds(100);
        var max = TimeSpan.FromSeconds(1);
        Assert.That(Backoff.Delay(1, initial, max, 0.5), Is.EqualTo(TimeSpan.FromMilliseconds(100)));
        Assert.That(Backoff.Delay(3, initial, max, 0.5), Is.EqualTo(TimeSpan.FromMilliseconds(400)));
        Assert.That(Backoff.Delay(10, initial, max, 0.5), Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(Backoff.Delay(1, initial, max, 0), Is.EqualTo(TimeSpan.FromMilliseconds(80)));
        Assert.That(Backoff.Delay(1, initial, max, 0.999999).TotalMilliseconds, Is.EqualTo(120).Within(0.01));
    }

    [Test]
    public void FromEnvironment_ReadsMlflowVariables()
    {
        var env = new Dictionary<string, string>
        {
            ["MLFLOW_TRACKING_URI"] = "http://mlflow.local:5000", ["MLFLOW_TRACKING_TOKEN"] = "t",
        };
        var o = MlflowClientOptions.FromEnvironment(k => env.GetValueOrDefault(k));
        Assert.That((o.TrackingUri.ToString(), o.Token), Is.EqualTo(("http://mlflow.local:5000/", "t")));
        Assert.Throws<InvalidOperationException>(() => MlflowClientOptions.FromEnvironment(_ => null));
        Assert.Throws<InvalidOperationException>(() => MlflowClientOptions.FromEnvironment(k => k == "MLFLOW_TRACKING_URI" ? "file:///tmp/mlruns" : null));
        Assert.Throws<InvalidOperationException>(() => MlflowClientOptions.FromEnvironment(k => k switch
        {
            "MLFLOW_TRACKING_URI" => "http://x", "MLFLOW_TRACKING_USERNAME" => "u", _ => null,
        }));
    }

    [Test]
    public void ProxyPath_StripsTheSchemeAndAuthority()
    {
        Assert.That(MlflowClient.ProxyPath("mlflow-artifacts:/1/abc/artifacts"), Is.EqualTo("1/abc/artifacts"));
        Assert.That(MlflowClient.ProxyPath("mlflow-artifacts://host:5000/1/abc/artifacts"), Is.EqualTo("1/abc/artifacts"));
        Assert.Throws<NotSupportedException>(() => MlflowClient.ProxyPath("s3://bucket/1/abc"));
    }
}
