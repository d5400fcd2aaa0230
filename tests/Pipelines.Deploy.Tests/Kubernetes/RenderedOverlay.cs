using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Deploy.Tests.Support;

namespace Pipelines.Deploy.Tests.Kubernetes;

/// <summary>An overlay of infra/k8s rendered by <c>kubectl kustomize</c>, as JSON objects.</summary>
public sealed class RenderedOverlay
{
    private RenderedOverlay(string name, string yaml, List<JsonObject> objects)
    {
        Overlay = name;
        Yaml = yaml;
        Objects = objects;
    }

    public string Overlay { get; }
    public string Yaml { get; }
    public IReadOnlyList<JsonObject> Objects { get; }

    public static async Task<RenderedOverlay> RenderAsync(string overlay)
    {
        var kubectl = Tool.Require("kubectl", "apt-get install kubernetes-client");
        var result = await Tool.RunAsync(kubectl, ["kustomize", Repo.Path("infra", "k8s", "overlays", overlay)]);
        Assert.That(result.ExitCode, Is.EqualTo(0), $"kubectl kustomize {overlay} failed:\n{result.Stderr}");
        return new RenderedOverlay(overlay, result.Stdout, YamlJson.LoadAll(result.Stdout, $"kustomize {overlay}"));
    }

    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => (string?)o["kind"] == kind);

    public JsonObject Get(string kind, string name) =>
        OfKind(kind).SingleOrDefault(o => Name(o) == name) ?? throw new AssertionException($"{Overlay}: no {kind}/{name} rendered");

    public JsonObject? Find(string kind, string name) => OfKind(kind).SingleOrDefault(o => Name(o) == name);

    /// <summary>A generated object (ConfigMap, Secret) by its base name: kustomize appends a content hash.</summary>
    public JsonObject Generated(string kind, string baseName) =>
        OfKind(kind).SingleOrDefault(o => Name(o) == baseName || Name(o).StartsWith(baseName + "-", StringComparison.Ordinal))
        ?? throw new AssertionException($"{Overlay}: no generated {kind} {baseName}");

    public static string Name(JsonNode o) => (string?)o["metadata"]?["name"] ?? "";

    public static JsonObject PodSpec(JsonObject workload) =>
        (JsonObject)(workload["spec"]!["template"]!["spec"] ?? throw new AssertionException($"{Name(workload)} has no pod spec"));

    public static JsonObject Container(JsonObject workload, string name) =>
        PodSpec(workload)["containers"]!.AsArray().OfType<JsonObject>().SingleOrDefault(c => (string?)c["name"] == name)
        ?? throw new AssertionException($"{Name(workload)} has no container {name}");

    public IEnumerable<JsonObject> Workloads() =>
        Objects.Where(o => (string?)o["kind"] is "Deployment" or "StatefulSet" or "Job" or "DaemonSet");

    /// <summary>
    /// The objects as JSON for the schema validator. Kustomize wraps a Secret's base64 data at 70 columns; the API
    /// server's base64 decoder skips those newlines, the validator's pattern does not, so they are removed here.
    /// </summary>
    public string ToValidatorJson()
    {
        var array = new JsonArray();
        foreach (var o in Objects)
        {
            var copy = o.DeepClone().AsObject();
            if ((string?)copy["kind"] == "Secret" && copy["data"] is JsonObject data)
                foreach (var key in data.Select(kv => kv.Key).ToList())
                    data[key] = string.Concat(((string?)data[key] ?? "").Where(c => !char.IsWhiteSpace(c)));
            array.Add(copy);
        }
        return array.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }
}
