using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipelines.Data.Tables;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Ml.Packaging;

/// <summary>One column of an MLflow signature: name (none for an unnamed output), MLflow type, required.</summary>
public sealed record MlflowColumn(string? Name, string Type, bool Required = true)
{
    internal JsonObject ToJson()
    {
        var o = new JsonObject { ["type"] = Type };
        if (Name is not null) o["name"] = Name;
        o["required"] = Required;
        return o;
    }
}

/// <summary>
/// Writes the MLflow parts of a model directory, whatever produced the model: <c>MLmodel</c> (valid YAML as MLflow
/// 2.17 reads it: every string that YAML would read as something else is quoted, e.g. <c>python_version: '3.11'</c>),
/// a <c>python_function</c> flavor whose loader module ships inside the directory (<c>code/</c>, MLflow's code_paths)
/// besides any other flavors, the signature, an input example (pandas "split" orient, as MLflow writes it), and
/// <c>requirements.txt</c>, <c>python_env.yaml</c>, <c>conda.yaml</c>.
/// </summary>
/// <remarks>
/// The caller writes its model files into the directory first (or after: this type only adds its own files) and
/// names them in <see cref="Flavors"/> or <see cref="Metadata"/>. Reusable for any trainer: the XGBoost packaging
/// (<see cref="MlflowModel"/>) is one user; <see cref="PipelinesLoader"/> is the loader for models whose
/// predictions need Pipelines' fitted feature pipeline in Python.
/// </remarks>
public sealed class MlflowModelDirectory
{
    public const string MLmodelFile = "MLmodel";
    public const string InputExampleFile = "input_example.json";
    public const string CodeDirectory = "code";
    /// <summary>The MLflow release whose model format and server we test against (see README "Works with MLflow").</summary>
    public const string MlflowVersion = "2.17.2";
    /// <summary>The Python the environment files name (MLflow only warns when the loading Python differs).</summary>
    public const string PythonVersion = "3.11";
    /// <summary>The pyfunc loader module for Pipelines-trained models (see <c>python/pipelines_pyfunc.py</c>).</summary>
    public const string PipelinesLoader = "pipelines_pyfunc";

    /// <summary>The <c>python_function</c> flavor's <c>loader_module</c>.</summary>
    public required string LoaderModule { get; init; }
    /// <summary>The pyfunc flavor's <c>data</c> path, relative to the directory; null passes the directory itself to the loader.</summary>
    public string? PyfuncData { get; init; }
    /// <summary>Python files placed in <c>code/</c> (file name → text), put on <c>sys.path</c> by MLflow before loading.</summary>
    public IReadOnlyDictionary<string, string> CodeFiles { get; init; } = new Dictionary<string, string>();
    /// <summary>Other flavors (name → settings; values are strings, numbers, booleans, null, lists or dictionaries).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>> Flavors { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, object?>>();
    public IReadOnlyList<MlflowColumn> Inputs { get; init; } = [];
    public IReadOnlyList<MlflowColumn> Outputs { get; init; } = [];
    /// <summary>A few raw input rows, written as <c>input_example.json</c>; null writes none.</summary>
    public Table? InputExample { get; init; }
    /// <summary>pip requirement lines; <c>mlflow</c> is added when absent.</summary>
    public IReadOnlyList<string> Requirements { get; init; } = [];
    /// <summary>MLmodel's <c>metadata</c> (free-form, as MLflow allows).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>The <c>artifact_path</c> recorded in MLmodel: where the directory lives in its run's artifacts.</summary>
    public string ArtifactPath { get; init; } = "model";
    public Guid? ModelId { get; init; }
    public DateTime? CreatedUtc { get; init; }

    /// <summary>Writes MLmodel, code, input example and environment files into <paramref name="directory"/> (created if needed).</summary>
    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var pyfunc = new Dictionary<string, object?>
        {
            ["code"] = CodeFiles.Count > 0 ? CodeDirectory : null,
        };
        if (PyfuncData is not null) pyfunc["data"] = PyfuncData;
        pyfunc["env"] = new Dictionary<string, object?> { ["conda"] = "conda.yaml", ["virtualenv"] = "python_env.yaml" };
        pyfunc["loader_module"] = LoaderModule;
        pyfunc["python_version"] = PythonVersion;
        var flavors = new SortedDictionary<string, object?>(StringComparer.Ordinal) { ["python_function"] = pyfunc };
        foreach (var (name, settings) in Flavors) flavors[name] = settings.ToDictionary(k => k.Key, k => k.Value);

        var root = new Dictionary<string, object?>
        {
            ["artifact_path"] = ArtifactPath,
            ["flavors"] = flavors,
            ["mlflow_version"] = MlflowVersion,
            ["model_size_bytes"] = null,
            ["model_uuid"] = (ModelId ?? Guid.NewGuid()).ToString("N"),
        };
        if (InputExample is not null)
        {
            File.WriteAllText(Path.Combine(directory, InputExampleFile), ExampleJson(InputExample));
            root["saved_input_example_info"] = new Dictionary<string, object?>
            {
                ["artifact_path"] = InputExampleFile, ["pandas_orient"] = "split", ["type"] = "dataframe",
            };
        }
        if (Inputs.Count > 0)
            root["signature"] = new Dictionary<string, object?>
            {
                ["inputs"] = new JsonArray(Inputs.Select(c => (JsonNode)c.ToJson()).ToArray()).ToJsonString(),
                ["outputs"] = new JsonArray(Outputs.Select(c => (JsonNode)c.ToJson()).ToArray()).ToJsonString(),
                ["params"] = null,
            };
        root["utc_time_created"] = (CreatedUtc ?? DateTime.UtcNow).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
        if (Metadata.Count > 0) root["metadata"] = Metadata.ToDictionary(m => m.Key, m => (object?)m.Value);

        foreach (var (file, text) in CodeFiles)
        {
            Directory.CreateDirectory(Path.Combine(directory, CodeDirectory));
            File.WriteAllText(Path.Combine(directory, CodeDirectory, file), text);
        }
        // The size MLflow records is that of the whole directory; measured last but for MLmodel itself, as MLflow does.
        var size = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != MLmodelFile).Sum(f => new FileInfo(f).Length);
        root["model_size_bytes"] = size;
        File.WriteAllText(Path.Combine(directory, MLmodelFile), ToYaml(root));

        var requirements = Requirements.Any(r => Regex.IsMatch(r, @"^mlflow\b")) ? Requirements : [$"mlflow=={MlflowVersion}", .. Requirements];
        File.WriteAllText(Path.Combine(directory, "requirements.txt"), string.Join('\n', requirements) + "\n");
        File.WriteAllText(Path.Combine(directory, "python_env.yaml"),
            $"python: '{PythonVersion}'\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n");
        File.WriteAllText(Path.Combine(directory, "conda.yaml"),
            $"channels:\n- conda-forge\ndependencies:\n- python={PythonVersion}\n- pip\n- pip:\n" +
            string.Concat(requirements.Select(r => $"  - {YamlScalar(r)}\n")) + "name: mlflow-env\n");
    }

    /// <summary>The Python source of the loader for Pipelines-trained models (<see cref="PipelinesLoader"/>).</summary>
    public static string PipelinesLoaderSource()
    {
        using var stream = typeof(MlflowModelDirectory).Assembly.GetManifestResourceStream("Pipelines.Ml.Packaging.pipelines_pyfunc.py")
                           ?? throw new InvalidOperationException("the pyfunc loader is not embedded in Pipelines.Ml");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// MLflow's type for one of our column types (as <c>mlflow.types.DataType</c> names them). Integers are
    /// <c>long</c> and floats <c>double</c> whatever their width: pandas reads them as int64/float64, and MLflow
    /// refuses to narrow (int64 → int32) but widens (int32 → long) when it checks a frame against the signature.
    /// </summary>
    public static string MlflowType(DataType type) => type.Kind switch
    {
        TypeKind.Boolean => "boolean",
        TypeKind.Int8 or TypeKind.Int16 or TypeKind.Int32 or TypeKind.Int64 or TypeKind.UInt8 or TypeKind.UInt16 or TypeKind.UInt32 or TypeKind.UInt64 => "long",
        TypeKind.Float32 or TypeKind.Float64 or TypeKind.Decimal => "double",
        TypeKind.String => "string",
        TypeKind.Binary => "binary",
        TypeKind.Date or TypeKind.Timestamp => "datetime",
        _ => "string",
    };

    /// <summary>The signature columns of <paramref name="schema"/> (only <paramref name="names"/> when given, in that order).</summary>
    public static IReadOnlyList<MlflowColumn> SignatureOf(Schema schema, IEnumerable<string>? names = null) =>
        (names ?? schema.Fields.Select(f => f.Name)).Select(n =>
        {
            var i = schema.IndexOf(n);
            if (i < 0) throw new ArgumentException($"column '{n}' is not in the schema");
            return new MlflowColumn(n, MlflowType(schema[i].Type));
        }).ToList();

    /// <summary>Rows as MLflow's pandas "split" JSON: {"columns": [...], "data": [[...], ...]}; nulls as null.</summary>
    public static string ExampleJson(Table table)
    {
        var data = new JsonArray();
        for (var r = 0; r < table.RowCount; r++)
        {
            var row = new JsonArray();
            foreach (var c in table.Columns) row.Add(JsonValueOf(c, r));
            data.Add(row);
        }
        return new JsonObject
        {
            ["columns"] = new JsonArray(table.Schema.Fields.Select(f => (JsonNode)JsonValue.Create(f.Name)).ToArray()),
            ["data"] = data,
        }.ToJsonString();
    }

    private static JsonNode? JsonValueOf(Column c, int r)
    {
        if (c.IsNull(r)) return null;
        return c.GetValue(r) switch
        {
            bool b => JsonValue.Create(b),
            long l => JsonValue.Create(l),
            int i => JsonValue.Create(i),
            short s => JsonValue.Create(s),
            sbyte s => JsonValue.Create(s),
            byte b => JsonValue.Create(b),
            ushort u => JsonValue.Create(u),
            uint u => JsonValue.Create(u),
            ulong u => JsonValue.Create(u),
            double d when double.IsFinite(d) => JsonValue.Create(d),
            float f when float.IsFinite(f) => JsonValue.Create(f),
            double or float => null,
            _ => JsonValue.Create(c.Format(r)),
        };
    }

    /// <summary>YAML text of nested dictionaries, lists and scalars with MLflow's block style and sorted keys.</summary>
    internal static string ToYaml(IReadOnlyDictionary<string, object?> root)
    {
        var doc = new YamlDocument((YamlMappingNode)Node(root));
        using var w = new StringWriter();
        new YamlStream(doc).Save(w, assignAnchors: false);
        // YamlDotNet ends documents with "...": valid YAML, but keep the file as MLflow writes it.
        return w.ToString().Replace("\n...\n", "\n");
    }

    private static YamlNode Node(object? value) => value switch
    {
        null => new YamlScalarNode("null") { Style = ScalarStyle.Plain },
        string s => new YamlScalarNode(s) { Style = NeedsQuotes(s) ? ScalarStyle.SingleQuoted : ScalarStyle.Plain },
        bool b => new YamlScalarNode(b ? "true" : "false") { Style = ScalarStyle.Plain },
        IFormattable f when value is int or long or double or float or decimal =>
            new YamlScalarNode(f.ToString(null, CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain },
        System.Collections.IDictionary d => Mapping(d),
        System.Collections.IEnumerable e => new YamlSequenceNode(e.Cast<object?>().Select(Node)),
        _ => new YamlScalarNode(value.ToString()) { Style = ScalarStyle.SingleQuoted },
    };

    private static YamlMappingNode Mapping(System.Collections.IDictionary d)
    {
        var m = new YamlMappingNode();
        foreach (var key in d.Keys.Cast<object>().Select(k => k.ToString()!).Order(StringComparer.Ordinal))
            m.Add(new YamlScalarNode(key), Node(d[key]));
        return m;
    }

    private static readonly Regex PlainSafe = new(@"^[A-Za-z_/][A-Za-z0-9_./-]*$", RegexOptions.Compiled);
    private static readonly HashSet<string> YamlWords = new(StringComparer.OrdinalIgnoreCase)
        { "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~" };

    /// <summary>Whether PyYAML would read the plain scalar as anything but this string (a number, bool, null, date…).</summary>
    private static bool NeedsQuotes(string s) => !PlainSafe.IsMatch(s) || YamlWords.Contains(s);

    private static string YamlScalar(string s) => NeedsQuotes(s) ? "'" + s.Replace("'", "''") + "'" : s;

    /// <summary>JSON text for a file next to MLmodel (indented, as a person reading the directory would want).</summary>
    public static string Json(object value) => JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true });
}
