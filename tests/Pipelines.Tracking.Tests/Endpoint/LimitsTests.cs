using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Tracking.Tests.Endpoint;

/// <summary>
/// MLflow 2.17.2's validation limits (mlflow/utils/validation.py): each limit is accepted exactly at the
/// limit and rejected one past it with INVALID_PARAMETER_VALUE, HTTP 400 and MLflow's message, over raw HTTP.
/// </summary>
public class LimitsTests
{
    private TrackingServerHarness _server = null!;
    private MlflowClient _client = null!;
    private HttpClient _http = null!;
    private string _experiment = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _server = await TrackingServerHarness.StartAsync();
        _client = _server.Client();
        _http = new HttpClient { BaseAddress = new Uri(_server.Url, "/api/2.0/mlflow/") };
        _experiment = await _client.CreateExperimentAsync("limits");
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http.Dispose();
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<string> NewRun() =>
        (await _client.CreateRunAsync(new CreateRunRequest { ExperimentId = _experiment, RunName = "r" })).Info.RunId;

    private async Task<(HttpStatusCode Status, JsonNode Body)> Send(HttpMethod method, string endpoint, object body)
    {
        using var request = new HttpRequestMessage(method, endpoint)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private async Task Accepted(HttpMethod method, string endpoint, object body)
    {
        var (status, json) = await Send(method, endpoint, body);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), json.ToJsonString());
    }

    private async Task Rejected(HttpMethod method, string endpoint, object body, string message)
    {
        var (status, json) = await Send(method, endpoint, body);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), json.ToJsonString());
        Assert.That((string?)json["error_code"], Is.EqualTo(MlflowErrorCodes.InvalidParameterValue));
        Assert.That((string?)json["message"], Is.EqualTo(message));
    }

    private static string S(int n, char c = 'x') => new(c, n);

    [Test]
    public async Task RunTagValue_8000Accepted_8001Rejected()
    {
        var run = await NewRun();
        await Accepted(HttpMethod.Post, "runs/set-tag", new { run_id = run, key = "t", value = S(8000) });
        await Rejected(HttpMethod.Post, "runs/set-tag", new { run_id = run, key = "t", value = S(8001) },
            $"Tag value '{S(250)}' had length 8001, which exceeded length limit of 8000");
    }

    [Test]
    public async Task ParamValue_6000Accepted_6001Rejected_KeysLimitedTo250()
    {
        var run = await NewRun();
        await Accepted(HttpMethod.Post, "runs/log-parameter", new { run_id = run, key = "p", value = S(6000) });
        await Rejected(HttpMethod.Post, "runs/log-parameter", new { run_id = run, key = "q", value = S(6001) },
            $"Param value '{S(250)}' had length 6001, which exceeded length limit of 6000");
        await Accepted(HttpMethod.Post, "runs/log-parameter", new { run_id = run, key = S(250, 'k'), value = "v" });
        await Rejected(HttpMethod.Post, "runs/log-parameter", new { run_id = run, key = S(251, 'k'), value = "v" },
            $"Param key '{S(250, 'k')}' had length 251, which exceeded length limit of 250");
        await Rejected(HttpMethod.Post, "runs/set-tag", new { run_id = run, key = S(251, 'k'), value = "v" },
            $"Tag key '{S(250, 'k')}' had length 251, which exceeded length limit of 250");
        await Rejected(HttpMethod.Post, "runs/log-metric", new { run_id = run, key = S(251, 'k'), value = 1, timestamp = 1 },
            $"Metric name '{S(250, 'k')}' had length 251, which exceeded length limit of 250");
    }

    [Test]
    public async Task ExperimentName500_AndExperimentTagValue5000()
    {
        await Accepted(HttpMethod.Post, "experiments/create", new { name = S(500, 'n') });
        await Rejected(HttpMethod.Post, "experiments/create", new { name = S(501, 'n') }, "Experiment name exceeds the maximum length of 500 characters");
        await Accepted(HttpMethod.Post, "experiments/set-experiment-tag", new { experiment_id = _experiment, key = "t", value = S(5000) });
        await Rejected(HttpMethod.Post, "experiments/set-experiment-tag", new { experiment_id = _experiment, key = "t", value = S(5001) },
            $"Tag value '{S(250)}' had length 5001, which exceeded length limit of 5000");
        await Rejected(HttpMethod.Post, "experiments/update", new { experiment_id = _experiment, new_name = S(501, 'n') },
            "Experiment name exceeds the maximum length of 500 characters");
    }

    [Test]
    public async Task RegistryTagValues5000_AndAlias255()
    {
        await _client.CreateRegisteredModelAsync("limits-model");
        await _client.CreateModelVersionAsync(new CreateModelVersionRequest("limits-model", "mlflow-artifacts:/x"));
        await Accepted(HttpMethod.Post, "registered-models/set-tag", new { name = "limits-model", key = "t", value = S(5000) });
        await Rejected(HttpMethod.Post, "registered-models/set-tag", new { name = "limits-model", key = "t", value = S(5001) },
            $"Registered model value '{S(250)}' had length 5001, which exceeded length limit of 5000");
        await Accepted(HttpMethod.Post, "model-versions/set-tag", new { name = "limits-model", version = "1", key = "t", value = S(5000) });
        await Rejected(HttpMethod.Post, "model-versions/set-tag", new { name = "limits-model", version = "1", key = "t", value = S(5001) },
            $"Model version value '{S(250)}' had length 5001, which exceeded length limit of 5000");
        await Accepted(HttpMethod.Post, "registered-models/alias", new { name = "limits-model", alias = S(255, 'a'), version = "1" });
        await Rejected(HttpMethod.Post, "registered-models/alias", new { name = "limits-model", alias = S(256, 'a'), version = "1" },
            $"Registered model alias name '{S(250, 'a')}' had length 256, which exceeded length limit of 255");
    }

    [Test]
    public async Task LogBatch_ItemCountLimits()
    {
        var run = await NewRun();
        object Params(int n) => Enumerable.Range(0, n).Select(i => new { key = $"p{i}", value = "v" }).ToArray();
        object Metrics(int n) => Enumerable.Range(0, n).Select(i => new { key = "m", value = 1.0, timestamp = 1, step = i }).ToArray();
        await Accepted(HttpMethod.Post, "runs/log-batch", new { run_id = run, @params = Params(100) });
        await Rejected(HttpMethod.Post, "runs/log-batch", new { run_id = run, @params = Params(101) },
            "A batch logging request can contain at most 100 params. Got 101 params. Please split up params across multiple requests and try again.");
        await Accepted(HttpMethod.Post, "runs/log-batch", new { run_id = run, metrics = Metrics(1000) });
        await Rejected(HttpMethod.Post, "runs/log-batch", new { run_id = run, metrics = Metrics(1001) },
            "A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please split up metrics across multiple requests and try again.");
        await Rejected(HttpMethod.Post, "runs/log-batch", new { run_id = run, metrics = Metrics(950), @params = Params(51) },
            "A batch logging request can contain at most 1000 metrics, params, and tags. Got 1001 metrics, params, and tags. Please split up metrics, params, and tags across multiple requests and try again.");
    }

    [Test]
    public async Task LogBatch_RequestOverOneMegabyteRejected()
    {
        var run = await NewRun();
        var tags = Enumerable.Range(0, 100).Select(i => new { key = $"t{i}", value = S(7990) }).ToArray(); // ~800 kB
        await Accepted(HttpMethod.Post, "runs/log-batch", new { run_id = run, tags });
        var more = Enumerable.Range(0, 100).Select(i => new { key = $"u{i}", value = S(7990) })
            .Concat(Enumerable.Range(0, 100).Select(i => new { key = $"p{i}", value = S(2500) })).ToArray();
        var body = JsonSerializer.Serialize(new { run_id = run, tags = more[..100], @params = more[100..] });
        var (status, json) = await Send(HttpMethod.Post, "runs/log-batch", new { run_id = run, tags = more[..100], @params = more[100..] });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string?)json["message"], Is.EqualTo($"Batched logging API requests must be at most 1000000 bytes, got a request of size {Encoding.UTF8.GetByteCount(body)}."));
    }

    [Test]
    public async Task DatasetLimits_NameDigestSourceAndInputTags()
    {
        var run = await NewRun();
        object Input(string name = "d", string digest = "abc", string source = "{}", string tagKey = "k", string tagValue = "v") => new
        {
            run_id = run,
            datasets = new[] { new { tags = new[] { new { key = tagKey, value = tagValue } }, dataset = new { name, digest, source_type = "local", source } } },
        };
        await Accepted(HttpMethod.Post, "runs/log-inputs", Input(name: S(500), digest: S(36), source: S(65535), tagKey: S(255), tagValue: S(500)));
        await Rejected(HttpMethod.Post, "runs/log-inputs", Input(name: S(501)), "Dataset name exceeds the maximum length of 500");
        await Rejected(HttpMethod.Post, "runs/log-inputs", Input(digest: S(37)), "Dataset digest exceeds the maximum length of 36");
        await Rejected(HttpMethod.Post, "runs/log-inputs", Input(source: S(65536)), "Dataset source exceeds the maximum length of 65535");
        await Rejected(HttpMethod.Post, "runs/log-inputs", Input(tagKey: S(256)), "InputTag key exceeds the maximum length of 255");
        await Rejected(HttpMethod.Post, "runs/log-inputs", Input(tagValue: S(501)), "InputTag value exceeds the maximum length of 500");
        await Rejected(HttpMethod.Post, "runs/log-inputs", new { run_id = run, datasets = new[] { new { dataset = new { name = "d", source_type = "local", source = "{}" } } } },
            "Dataset digest cannot be None");
    }

    [Test]
    public async Task ErrorShapes_OfTheNewEndpoints_AreMlflowErrors()
    {
        var (status, json) = await Send(HttpMethod.Delete, "registered-models/delete", new { name = "no-such-model" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(json.ToJsonString(), Is.EqualTo("""{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Registered Model with name=no-such-model not found"}"""));
        (status, json) = await Send(HttpMethod.Delete, "model-versions/delete", new { name = "no-such-model", version = "1" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((string?)json["message"], Is.EqualTo("Model Version (name=no-such-model, version=1) not found"));
        (status, json) = await Send(HttpMethod.Post, "experiments/delete", new { experiment_id = "424242" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((string?)json["message"], Is.EqualTo("No Experiment with id=424242 exists"));
        (status, json) = await Send(HttpMethod.Patch, "model-versions/update", new { name = "no-such-model", version = "x" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string?)json["message"], Is.EqualTo("Model version must be an integer, got 'x'"));
        (status, json) = await Send(HttpMethod.Post, "experiments/search", new { max_results = 0 });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string?)json["error_code"], Is.EqualTo(MlflowErrorCodes.InvalidParameterValue));
        (status, json) = await Send(HttpMethod.Post, "runs/delete", new { run_id = "nosuchrun" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((string?)json["message"], Is.EqualTo("Run with id=nosuchrun not found"));
    }
}
