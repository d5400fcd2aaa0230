using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Tracking.Tests.Contract;

/// <summary>The client's types read every recorded response, and writing them back loses no field.</summary>
public class ClientParsesTranscriptTests
{
    private static readonly Dictionary<string, Type> ResponseTypes = new()
    {
        ["/api/2.0/mlflow/experiments/get-by-name"] = typeof(GetExperimentResponse),
        ["/api/2.0/mlflow/experiments/create"] = typeof(CreateExperimentResponse),
        ["/api/2.0/mlflow/runs/create"] = typeof(RunResponse),
        ["/api/2.0/mlflow/runs/get"] = typeof(RunResponse),
        ["/api/2.0/mlflow/runs/update"] = typeof(UpdateRunResponse),
        ["/api/2.0/mlflow/runs/search"] = typeof(SearchRunsResponse),
        ["/api/2.0/mlflow/metrics/get-history"] = typeof(MetricHistoryResponse),
        ["/api/2.0/mlflow/registered-models/create"] = typeof(RegisteredModelResponse),
        ["/api/2.0/mlflow/registered-models/get"] = typeof(RegisteredModelResponse),
        ["/api/2.0/mlflow/model-versions/create"] = typeof(ModelVersionResponse),
        ["/api/2.0/mlflow/model-versions/get"] = typeof(ModelVersionResponse),
        ["/api/2.0/mlflow/registered-models/alias"] = typeof(ModelVersionResponse),
        ["/api/2.0/mlflow/artifacts/list"] = typeof(ListArtifactsResponse),
        ["/api/2.0/mlflow-artifacts/artifacts"] = typeof(ListArtifactsResponse),
    };

    public static IEnumerable<TestCaseData> Exchanges() =>
        Transcript.Load().Select(x => new TestCaseData(x).SetName($"Parses_{x.Index:D2}_{x.Method}_{x.Endpoint.Replace("/api/2.0/", "")}"));

    [TestCaseSource(nameof(Exchanges))]
    public void RecordedResponse_RoundTripsThroughTheClientTypes(Exchange x)
    {
        var text = x.ResponseBody.Trim();
        if (!text.StartsWith('{'))
        {
            Assert.That(x.Method, Is.EqualTo("GET"), "only artifact downloads are not JSON");
            return;
        }
        var node = JsonNode.Parse(text)!;
        if (node["error_code"] is not null)
        {
            var error = JsonSerializer.Deserialize<ErrorResponse>(text, MlflowJson.Options)!;
            var exception = MlflowException.Create(error.ErrorCode, error.Message, (System.Net.HttpStatusCode)x.Status);
            Assert.That(exception.ErrorCode, Is.EqualTo(error.ErrorCode));
            Assert.That(MlflowErrorCodes.StatusOf(error.ErrorCode), Is.EqualTo((System.Net.HttpStatusCode)x.Status), "status per error code");
            Assert.That(exception, error.ErrorCode switch
            {
                MlflowErrorCodes.ResourceAlreadyExists => Is.InstanceOf<ResourceAlreadyExistsException>(),
                MlflowErrorCodes.ResourceDoesNotExist => Is.InstanceOf<ResourceDoesNotExistException>(),
                MlflowErrorCodes.InvalidParameterValue => Is.InstanceOf<InvalidParameterValueException>(),
                _ => Is.InstanceOf<MlflowException>(),
            });
            return;
        }
        if (node is JsonObject { Count: 0 }) return; // {} acknowledgements
        Assert.That(ResponseTypes.TryGetValue(x.Endpoint, out var type), $"a response type for {x.Endpoint}");
        var typed = JsonSerializer.Deserialize(text, type!, MlflowJson.Options)!;
        var back = JsonNode.Parse(JsonSerializer.Serialize(typed, type!, MlflowJson.Options));
        var problems = new List<string>();
        CompareExactly(node, back, "$", problems);
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    private static void CompareExactly(JsonNode? expected, JsonNode? actual, string path, List<string> problems)
    {
        switch (expected)
        {
            case JsonObject eo when actual is JsonObject ao:
                foreach (var (k, v) in eo) CompareExactly(v, ao[k], $"{path}.{k}", problems);
                foreach (var (k, _) in ao) if (!eo.ContainsKey(k)) problems.Add($"{path}.{k}: added");
                break;
            case JsonArray ea when actual is JsonArray aa && ea.Count == aa.Count:
                for (var i = 0; i < ea.Count; i++) CompareExactly(ea[i], aa[i], $"{path}[{i}]", problems);
                break;
            default:
                if (!JsonNode.DeepEquals(expected, actual)) problems.Add($"{path}: {actual?.ToJsonString()} != {expected?.ToJsonString()}");
                break;
        }
    }
}
