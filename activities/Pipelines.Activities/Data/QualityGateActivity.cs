using Pipelines.Quality.Checks;
using Pipelines.Quality.Reports;
using Pipelines.Quality.Spec;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Activities.Data;

/// <param name="Spec">Expectations and drift, parsed (and rejected when invalid) before any data is read.</param>
/// <param name="LabelMapping">{column, map}, checked when applied.</param>
public sealed record QualityGateInput(JsonNode Data, JsonNode? Reference, QualitySpec Spec, JsonNode? LabelMapping, IReadOnlyList<string> NullTokens)
    : IActivityInput<QualityGateInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("data", SchemaBuilder.Any("The dataset: an artifact reference or a path (CSV or Parquet)."))
        .Optional("reference", SchemaBuilder.Any("Reference dataset for drift (artifact reference or path)."))
        .Optional("expectations", SchemaBuilder.Any("{row_count, columns: {name: {type, required, max_null_ratio, min, max, allowed, unique, regex, severity}}, freshness}."))
        .Optional("drift", SchemaBuilder.Any("{columns: [...], psi: {max, severity}, ks: {max, severity}, bins}."))
        .Optional("label_mapping", SchemaBuilder.Any("{column, map: {from: to}}: values mapped before checking (e.g. Adult's '>50K.' → '>50K')."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String(), "For CSV inputs: values read as missing."))
        .Build();

    public static QualityGateInput Bind(ActivityInputs inputs)
    {
        QualitySpec spec;
        try { spec = QualitySpec.Parse(Object(inputs.Node("expectations"), "expectations"), Object(inputs.Node("drift"), "drift")); }
        catch (QualitySpecException e) { throw new ActivityException($"invalid gate spec: {e.Message}", retryable: false, e); }
        var reference = inputs.Node("reference");
        if (spec.Drift is not null && reference is null)
            throw new ActivityException("drift checks need a 'reference' dataset", retryable: false);
        return new(inputs.Node("data")!, reference, spec, inputs.Node("label_mapping"), inputs.StringList("null_tokens", [""]));
    }

    private static JsonObject? Object(JsonNode? node, string field) => node switch
    {
        null => null,
        JsonObject o => o,
        _ => throw new ActivityException($"{field}: must be an object", retryable: false),
    };
}

/// <summary>
/// Checks a dataset against declared expectations and drift from a reference. A failing gate is a verdict, not an
/// error: the run ends "stopped by gate" with the violations listed, and the step is never retried.
/// </summary>
public sealed class QualityGateActivity : Activity<QualityGateInput>, IActivityDefinition<QualityGateInput>
{
    public static ActivityInfo Info { get; } = new("quality_gate", "1", "Checks data against expectations and drift; publishes JSON/HTML reports and quarantined rows; stops the run on failure.");

    public static IActivity Create(IServiceProvider? services) => new QualityGateActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("verdict", SchemaBuilder.String("pass, warn or fail."))
            .Required("violations", SchemaBuilder.Array(SchemaBuilder.String(), "Failed checks, readable."))
            .Required("report_json", SchemaBuilder.Any("The JSON report (artifact)."))
            .Required("report_html", SchemaBuilder.Any("The HTML report (artifact)."))
            .Optional("quarantine", SchemaBuilder.Any("Rejected rows with _rejected_because (Parquet artifact), when any."))
            .Required("rejected_rows", SchemaBuilder.Integer("Rows rejected by value-level expectations."))
            .Required("data", SchemaBuilder.Any("The checked data passed through, or the mapped table when label_mapping applied."))
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(QualityGateInput input, ActivityContext context, CancellationToken ct)
    {
        var spec = input.Spec;
        var csv = new Pipelines.Data.Csv.CsvOptions { NullTokens = input.NullTokens };
        var (data, _) = await TableFiles.ReadInputAsync(context, "data", csv, ct);
        Table? reference = null;
        if (input.Reference is not null) (reference, _) = await TableFiles.ReadInputAsync(context, "reference", csv, ct);

        JsonNode passThrough = input.Data.DeepClone();
        if (input.LabelMapping is { } lm)
        {
            var column = (lm as JsonObject)?["column"]?.GetValue<string>() ?? throw new ActivityException("label_mapping.column is required", retryable: false);
            var map = TableFiles.StringMap(lm["map"], "label_mapping.map");
            data = TableFiles.MapValues(data, column, map, "label_mapping.column");
            if (reference is not null && reference.Schema.IndexOf(column) >= 0) reference = TableFiles.MapValues(reference, column, map, "label_mapping.column");
            // Named after the checked data, so errors further down still say which file it came from.
            passThrough = await TableFiles.PublishTableAsync(context, data, Path.GetFileNameWithoutExtension(ArtifactRefs.DisplayName(input.Data)) + ".mapped.parquet", ct);
        }

        var outcome = QualityChecker.Check(data, spec, context.Time.GetUtcNow(), reference);
        var report = outcome.Report;
        var dir = ActivityServices.From(context).WorkDirectory(context);
        var jsonPath = Path.Combine(dir, "quality-report.json");
        var htmlPath = Path.Combine(dir, "quality-report.html");
        await File.WriteAllTextAsync(jsonPath, report.ToJson(), ct);
        await File.WriteAllTextAsync(htmlPath, HtmlReport.Render(report, $"Quality gate: {context.StepId}"), ct);

        var verdict = report.Verdict.ToString().ToLowerInvariant();
        var violations = report.Violations.Select(v => v.Message).ToList();
        var outputs = new JsonObject
        {
            ["verdict"] = verdict,
            ["violations"] = new JsonArray(violations.Select(v => (JsonNode)v).ToArray()),
            ["report_json"] = await ArtifactRefs.PublishAsync(context, jsonPath, "quality-report.json", ArtifactKinds.File, ct),
            ["report_html"] = await ArtifactRefs.PublishAsync(context, htmlPath, "quality-report.html", ArtifactKinds.File, ct),
            ["rejected_rows"] = report.RejectedRows,
            ["data"] = passThrough,
        };
        if (report.RejectedRows > 0)
            outputs["quarantine"] = await TableFiles.PublishTableAsync(context, outcome.Quarantine(data), "quarantine.parquet", ct);

        foreach (var v in violations) context.Log.Write($"violation: {v}");
        context.Log.Write($"verdict {verdict}: {report.Checks.Count} checks, {violations.Count} violations, {report.RejectedRows} rows rejected");
        return report.Verdict == Verdict.Fail
            ? ActivityResult.Stop($"quality gate failed on '{ArtifactRefs.DisplayName(input.Data)}': {string.Join("; ", report.Violations.Where(v => v.Severity == Severity.Fail).Select(v => v.Message))}", outputs)
            : ActivityResult.Success(outputs);
    }
}
