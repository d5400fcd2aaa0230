using System.Text.RegularExpressions;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Server.Tracking;

/// <summary>MLflow's input validation (limits and messages of mlflow/utils/validation.py), all INVALID_PARAMETER_VALUE.</summary>
internal static partial class Validation
{
    public const int MaxEntityKeyLength = 250;
    public const int MaxParamValueLength = 6000;
    public const int MaxTagValueLength = 8000;
    public const int MaxExperimentNameLength = 500;
    public const int MaxExperimentTagValueLength = 5000;
    public const int MaxRegistryTagValueLength = 5000;
    public const int MaxAliasLength = 255;
    public const int MaxParamsTagsPerBatch = 100;
    public const int MaxMetricsPerBatch = 1000;
    public const int MaxEntitiesPerBatch = 1000;
    public const int MaxBatchRequestBytes = 1_000_000;

    private const string BadCharacters = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).";

    [GeneratedRegex(@"^[/\w.\- ]*$")] private static partial Regex NameChars();
    [GeneratedRegex(@"^[\w\-]*$")] private static partial Regex AliasChars();
    [GeneratedRegex(@"^[vV]\d+$")] private static partial Regex VersionAlias();

    public static InvalidParameterValueException Invalid(string message) => MlflowException.InvalidParameter(message);

    public static string Required(string? value, string parameter) =>
        string.IsNullOrEmpty(value) ? throw Missing(parameter) : value;

    public static InvalidParameterValueException Missing(string parameter) =>
        Invalid($"Missing value for required parameter '{parameter}'. See the API docs for more information about request parameters.");

    public static void Name(string kind, string? name)
    {
        if (name is null) throw Invalid($"{kind} name cannot be None. A key name must be provided.");
        if (!NameChars().IsMatch(name)) throw Invalid($"Invalid {kind.ToLowerInvariant()} name: '{name}'. {BadCharacters}");
        var norm = NormPath(name);
        if (norm != name || norm == "." || norm.StartsWith("..", StringComparison.Ordinal) || norm.StartsWith('/'))
            throw Invalid($"Invalid {kind.ToLowerInvariant()} name: '{name}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '{norm}'");
    }

    public static void Length(string entity, int limit, string? value)
    {
        if (value is not null && value.Length > limit)
            throw Invalid($"{entity} '{value[..250]}' had length {value.Length}, which exceeded length limit of {limit}");
    }

    public static void Param(Param p)
    {
        Name("Parameter", p.Key);
        Length("Param key", MaxEntityKeyLength, p.Key);
        Length("Param value", MaxParamValueLength, p.Value);
    }

    public static void RunTag(Tag t)
    {
        Name("Tag", t.Key);
        Length("Tag key", MaxEntityKeyLength, t.Key);
        Length("Tag value", MaxTagValueLength, t.Value);
    }

    public static void ExperimentTag(Tag t)
    {
        Name("Tag", t.Key);
        Length("Tag key", MaxEntityKeyLength, t.Key);
        Length("Tag value", MaxExperimentTagValueLength, t.Value);
    }

    public static void RegistryTag(string what, Tag t)
    {
        Name("Tag", t.Key);
        Length($"{what} key", MaxEntityKeyLength, t.Key);
        Length($"{what} value", MaxRegistryTagValueLength, t.Value);
    }

    public static void Metric(Metric m)
    {
        Name("Metric", m.Key);
        if (m.Timestamp < 0)
            throw Invalid($"Got invalid timestamp {m.Timestamp} for metric '{m.Key}' (value={m.Value}). Timestamp must be a nonnegative long (64-bit integer) ");
        Length("Metric name", MaxEntityKeyLength, m.Key);
    }

    public static void ExperimentName(string? name)
    {
        if (string.IsNullOrEmpty(name)) throw Invalid($"Invalid experiment name: '{name}'");
        if (name.Length > MaxExperimentNameLength) throw Invalid($"Experiment name exceeds the maximum length of {MaxExperimentNameLength} characters");
    }

    /// <returns>The name, once valid.</returns>
    public static string ModelName(string? name)
    {
        if (string.IsNullOrEmpty(name)) throw Invalid("Registered model name cannot be empty.");
        return name;
    }

    public static int ModelVersion(string? version)
    {
        if (string.IsNullOrEmpty(version)) throw Missing("version");
        return int.TryParse(version, out var v) ? v : throw Invalid($"Model version must be an integer, got '{version}'");
    }

    private static readonly string[] Stages = ["None", "Staging", "Production", "Archived"];

    /// <summary>A model version stage in MLflow's canonical spelling (any case accepted, as MLflow's get_canonical_stage).</summary>
    public static string Stage(string? stage) =>
        Stages.FirstOrDefault(s => s.Equals(stage, StringComparison.OrdinalIgnoreCase))
        ?? throw Invalid($"Invalid Model Version stage: {stage}. Value must be one of {string.Join(", ", Stages)}.");

    /// <summary>A boolean request parameter (JSON true/false, or "true"/"false" in a query); null when absent.</summary>
    public static bool? Flag(string? value, string parameter) => value switch
    {
        null => null,
        _ when bool.TryParse(value, out var b) => b,
        _ => throw Invalid($"Invalid value \"{value}\" for parameter '{parameter}' supplied. Hint: Value was of type 'string'. See the API docs for more information about request parameters."),
    };

    /// <returns>The tag key of a delete-tag request, once present.</returns>
    public static string TagKey(string? key) => string.IsNullOrEmpty(key) ? throw Missing("key") : key;

    /// <returns>The alias, once valid.</returns>
    public static string Alias(string? alias)
    {
        if (string.IsNullOrEmpty(alias)) throw Invalid("Registered model alias name cannot be empty.");
        if (!AliasChars().IsMatch(alias)) throw Invalid($"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).");
        Length("Registered model alias name", MaxAliasLength, alias);
        if (alias.Equals("latest", StringComparison.OrdinalIgnoreCase)) throw Invalid("'latest' alias name (case insensitive) is reserved.");
        if (VersionAlias().IsMatch(alias)) throw Invalid($"Version alias name '{alias}' is reserved.");
        return alias;
    }

    // Dataset limits of mlflow/utils/validation.py (MAX_DATASET_*_SIZE, MAX_INPUT_TAG_*_SIZE).
    public const int MaxDatasetNameSize = 500;
    public const int MaxDatasetDigestSize = 36;
    public const int MaxDatasetSchemaSize = 1048575;
    public const int MaxDatasetSourceSize = 65535;
    public const int MaxDatasetProfileSize = 16777215;
    public const int MaxInputTagKeySize = 255;
    public const int MaxInputTagValueSize = 500;

    public static void DatasetInput(DatasetInput input)
    {
        var d = input.Dataset;
        static void Max(string what, int limit, string? value)
        {
            if (value is not null && value.Length > limit) throw Invalid($"{what} exceeds the maximum length of {limit}");
        }
        Max("Dataset name", MaxDatasetNameSize, d.Name);
        Max("Dataset digest", MaxDatasetDigestSize, d.Digest);
        Max("Dataset source", MaxDatasetSourceSize, d.Source);
        Max("Dataset schema", MaxDatasetSchemaSize, d.Schema);
        Max("Dataset profile", MaxDatasetProfileSize, d.Profile);
        foreach (var t in input.Tags ?? [])
        {
            Max("InputTag key", MaxInputTagKeySize, t.Key);
            Max("InputTag value", MaxInputTagValueSize, t.Value);
        }
    }

    public static void BatchLimits(int metrics, int parameters, int tags)
    {
        static void Check(string entity, int limit, int n)
        {
            if (n > limit)
                throw Invalid($"A batch logging request can contain at most {limit} {entity}. Got {n} {entity}. Please split up {entity} across multiple requests and try again.");
        }
        Check("metrics", MaxMetricsPerBatch, metrics);
        Check("params", MaxParamsTagsPerBatch, parameters);
        Check("tags", MaxParamsTagsPerBatch, tags);
        Check("metrics, params, and tags", MaxEntitiesPerBatch, metrics + parameters + tags);
    }

    /// <summary>posixpath.normpath, for names.</summary>
    private static string NormPath(string path)
    {
        if (path.Length == 0) return ".";
        var initial = path.StartsWith('/') ? (path.StartsWith("//", StringComparison.Ordinal) && !path.StartsWith("///", StringComparison.Ordinal) ? 2 : 1) : 0;
        var parts = new List<string>();
        foreach (var comp in path.Split('/'))
        {
            if (comp is "" or ".") continue;
            if (comp != ".." || (initial == 0 && parts.Count == 0) || (parts.Count > 0 && parts[^1] == ".."))
                parts.Add(comp);
            else if (parts.Count > 0)
                parts.RemoveAt(parts.Count - 1);
        }
        var result = new string('/', initial) + string.Join('/', parts);
        return result.Length == 0 ? "." : result;
    }
}
