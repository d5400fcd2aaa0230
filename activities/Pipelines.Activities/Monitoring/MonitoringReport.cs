using System.Globalization;
using System.Net;
using System.Text;
using Pipelines.Quality.Drift;

namespace Pipelines.Activities.Monitoring;

/// <summary>One batch of a monitor's series as the report charts it.</summary>
public sealed record MonitorPoint(string Batch, DateTimeOffset RecordedAt, MonitorVerdict Verdict, long Rows, double? MaxPsi, double? PredictionPsi,
    IReadOnlyDictionary<string, double?> FeaturePsi);

/// <summary>
/// The monitoring report: verdict and findings of this batch, PSI over the last N batches (line chart and a
/// feature-by-batch heat table), the current per-feature measures and reference-vs-batch histograms of the features
/// that drifted most. Self-contained HTML with inline SVG: no scripts, no external resources.
/// </summary>
public static class MonitoringReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static JsonObject ResultJson(MonitorResult result)
    {
        static JsonObject Feature(FeatureDrift f) => new()
        {
            ["name"] = f.Name,
            ["kind"] = f.Kind.ToString().ToLowerInvariant(),
            ["verdict"] = f.Verdict.ToString().ToLowerInvariant(),
            ["psi"] = Num(f.Psi),
            ["ks_d"] = Num(f.KsD),
            ["ks_p"] = Num(f.KsP),
            ["chi_squared"] = Num(f.ChiSquared),
            ["chi_squared_p"] = Num(f.ChiSquaredP),
            ["reference_missing_rate"] = f.ReferenceMissingRate,
            ["current_missing_rate"] = f.CurrentMissingRate,
            ["out_of_range"] = Num(f.OutOfRange),
            ["unseen"] = Num(f.Unseen),
            ["current_mean"] = Num(f.CurrentMean),
            ["reasons"] = new JsonArray(f.Reasons.Select(r => (JsonNode)r).ToArray()),
            ["bins"] = new JsonArray(f.Bins.Select(b => (JsonNode)new JsonObject { ["label"] = b.Label, ["reference"] = b.ReferenceShare, ["current"] = b.CurrentShare }).ToArray()),
        };
        return new JsonObject
        {
            ["verdict"] = result.Verdict.ToString().ToLowerInvariant(),
            ["rows"] = result.Rows,
            ["findings"] = new JsonArray(result.Findings.Select(f => (JsonNode)f).ToArray()),
            ["features"] = new JsonArray(result.Features.Select(f => (JsonNode)Feature(f)).ToArray()),
            ["prediction"] = result.Prediction is null ? null : Feature(result.Prediction),
        };
    }

    /// <summary>The series point of a stored result (see <see cref="ResultJson"/>).</summary>
    public static MonitorPoint PointOf(string batch, DateTimeOffset at, string verdict, long rows, double? maxPsi, double? predictionPsi, string resultJson)
    {
        var psi = new Dictionary<string, double?>(StringComparer.Ordinal);
        if (JsonNode.Parse(resultJson)?["features"] is JsonArray features)
            foreach (var f in features.OfType<JsonObject>())
                if (f["name"]?.GetValue<string>() is { } name) psi[name] = f["psi"]?.GetValue<double>();
        var v = Enum.TryParse<MonitorVerdict>(verdict, ignoreCase: true, out var parsed) ? parsed : MonitorVerdict.Ok;
        return new MonitorPoint(batch, at, v, rows, maxPsi, predictionPsi, psi);
    }

    private static JsonNode? Num(double? v) => v is { } d && double.IsFinite(d) ? JsonValue.Create(d) : null;

    public static string Render(string title, string batch, ReferenceProfile reference, MonitorResult result, MonitorThresholds thresholds,
        IReadOnlyList<MonitorPoint> history)
    {
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}table{border-collapse:collapse;margin:1em 0}")
            .Append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}th{background:#f4f4f4}td.l,th.l{text-align:left}")
            .Append(".ok{color:#1a7f37}.warn{color:#9a6700}.alert{color:#cf222e}.badge{padding:2px 10px;border-radius:10px;color:#fff}")
            .Append(".b-ok{background:#1a7f37}.b-warn{background:#bf8700}.b-alert{background:#cf222e}figure{display:inline-block;margin:0 1em 1em 0}")
            .Append("figcaption{font-size:13px;font-weight:600}</style></head><body>");
        var verdict = Name(result.Verdict);
        h.Append("<h1>").Append(E(title)).Append(" <span class=\"badge b-").Append(verdict).Append("\">").Append(verdict).Append("</span></h1>");
        h.Append("<p>Batch <b>").Append(E(batch)).Append("</b>: ").Append(result.Rows.ToString("N0", Inv)).Append(" rows, compared with the reference profile of ")
            .Append(E(reference.Source ?? "(unnamed data)")).Append(" (").Append(reference.Rows.ToString("N0", Inv)).Append(" rows")
            .Append(reference.Model is null ? "" : ", predictions of " + E(reference.Model)).Append(").</p>");
        h.Append("<h2>Findings</h2>");
        if (result.Findings.Count == 0) h.Append("<p class=\"ok\">No measure reached a warn level.</p>");
        else
        {
            h.Append("<ul>");
            foreach (var f in result.Findings) h.Append("<li>").Append(E(f)).Append("</li>");
            h.Append("</ul>");
        }

        h.Append("<h2>Last ").Append(history.Count).Append(history.Count == 1 ? " batch" : " batches").Append("</h2>");
        h.Append(LineChart(history, thresholds));
        h.Append(HeatTable(history, thresholds.Psi));

        h.Append("<h2>Features of this batch</h2><table><tr><th class=\"l\">feature</th><th class=\"l\">kind</th><th class=\"l\">verdict</th><th>PSI</th><th>KS D</th><th>KS p</th>")
            .Append("<th>χ²</th><th>χ² p</th><th>missing (ref → now)</th><th>out of range</th><th>unseen</th></tr>");
        foreach (var f in result.Features.Append(result.Prediction).OfType<FeatureDrift>())
        {
            var name = ReferenceEquals(f, result.Prediction) ? "prediction" : f.Name;
            h.Append("<tr><td class=\"l\">").Append(E(name)).Append("</td><td class=\"l\">").Append(f.Kind.ToString().ToLowerInvariant())
                .Append("</td><td class=\"l ").Append(Name(f.Verdict)).Append("\">").Append(Name(f.Verdict)).Append("</td><td>").Append(F(f.Psi))
                .Append("</td><td>").Append(F(f.KsD)).Append("</td><td>").Append(P(f.KsP)).Append("</td><td>").Append(F(f.ChiSquared))
                .Append("</td><td>").Append(P(f.ChiSquaredP)).Append("</td><td>").Append(Pct(f.ReferenceMissingRate)).Append(" → ").Append(Pct(f.CurrentMissingRate))
                .Append("</td><td>").Append(f.OutOfRange is { } o ? Pct(o) : "").Append("</td><td>").Append(f.Unseen is { } u ? Pct(u) : "").Append("</td></tr>");
        }
        h.Append("</table>");

        h.Append("<h2>Distributions: reference vs this batch</h2>");
        var shown = result.Features.OrderByDescending(f => f.Verdict).ThenByDescending(f => f.Psi ?? 0).Take(6).ToList();
        if (result.Prediction is not null) shown.Insert(0, result.Prediction);
        foreach (var f in shown) h.Append(Bars(ReferenceEquals(f, result.Prediction) ? "prediction" : f.Name, f));
        h.Append("</body></html>");
        return h.ToString();
    }

    private static string LineChart(IReadOnlyList<MonitorPoint> history, MonitorThresholds thresholds)
    {
        const int W = 720, H = 240, L = 50, R = 20, T = 20, B = 40;
        var values = history.SelectMany(p => new[] { p.MaxPsi, p.PredictionPsi }).OfType<double>().Where(double.IsFinite).ToList();
        var top = Math.Max(values.Count == 0 ? 0 : values.Max(), (thresholds.Psi.Alert ?? 0.25) * 1.2);
        double X(int i) => history.Count <= 1 ? L + (W - L - R) / 2.0 : L + i * (W - L - R) / (double)(history.Count - 1);
        double Y(double v) => T + (H - T - B) * (1 - Math.Min(v, top) / top);
        var s = new StringBuilder();
        s.Append(Inv, $"<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"PSI per batch\">");
        s.Append(Inv, $"<line x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"#888\"/><line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{H - B}\" stroke=\"#888\"/>");
        for (var k = 0; k <= 4; k++)
        {
            var v = top * k / 4;
            s.Append(Inv, $"<text x=\"{L - 6}\" y=\"{Y(v) + 4:0.#}\" font-size=\"11\" text-anchor=\"end\">{v:0.##}</text>");
        }
        foreach (var (level, color, label) in new[] { (thresholds.Psi.Warn, "#bf8700", "warn"), (thresholds.Psi.Alert, "#cf222e", "alert") })
            if (level is { } lv && lv <= top)
                s.Append(Inv, $"<line x1=\"{L}\" y1=\"{Y(lv):0.#}\" x2=\"{W - R}\" y2=\"{Y(lv):0.#}\" stroke=\"{color}\" stroke-dasharray=\"4 3\"/><text x=\"{W - R}\" y=\"{Y(lv) - 3:0.#}\" font-size=\"10\" text-anchor=\"end\" fill=\"{color}\">{label} {lv:0.##}</text>");
        foreach (var (select, color, label) in new (Func<MonitorPoint, double?>, string, string)[] { (p => p.MaxPsi, "#0969da", "max feature PSI"), (p => p.PredictionPsi, "#8250df", "prediction PSI") })
        {
            var pts = history.Select((p, i) => (i, v: select(p))).Where(x => x.v is { } d && double.IsFinite(d)).ToList();
            if (pts.Count == 0) continue;
            s.Append("<polyline fill=\"none\" stroke=\"").Append(color).Append("\" stroke-width=\"2\" points=\"")
                .AppendJoin(' ', pts.Select(x => string.Create(Inv, $"{X(x.i):0.#},{Y(x.v!.Value):0.#}"))).Append("\"/>");
            foreach (var (i, v) in pts)
                s.Append(Inv, $"<circle cx=\"{X(i):0.#}\" cy=\"{Y(v!.Value):0.#}\" r=\"4\" fill=\"{VerdictColor(history[i].Verdict)}\" stroke=\"{color}\"><title>{E(history[i].Batch)}: {label} {v:0.###}</title></circle>");
        }
        for (var i = 0; i < history.Count; i++)
            if (history.Count <= 12 || i % (history.Count / 12 + 1) == 0 || i == history.Count - 1)
                s.Append(Inv, $"<text x=\"{X(i):0.#}\" y=\"{H - B + 16}\" font-size=\"10\" text-anchor=\"middle\">{history[i].RecordedAt:MM-dd HH:mm}</text>");
        s.Append(Inv, $"<text x=\"{L}\" y=\"{H - 6}\" font-size=\"11\" fill=\"#0969da\">— max feature PSI</text><text x=\"{L + 140}\" y=\"{H - 6}\" font-size=\"11\" fill=\"#8250df\">— prediction PSI</text>");
        s.Append("</svg><figcaption>PSI per batch (point colour: the batch's verdict)</figcaption></figure>");
        return s.ToString();
    }

    private static string HeatTable(IReadOnlyList<MonitorPoint> history, Threshold psi)
    {
        var features = history.SelectMany(p => p.FeaturePsi.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        if (features.Count == 0 || history.Count == 0) return "";
        var s = new StringBuilder("<table><tr><th class=\"l\">PSI by batch</th>");
        foreach (var p in history) s.Append("<th title=\"").Append(E(p.Batch)).Append("\">").Append(p.RecordedAt.ToString("MM-dd HH:mm", Inv)).Append("</th>");
        s.Append("</tr>");
        foreach (var f in features)
        {
            s.Append("<tr><td class=\"l\">").Append(E(f)).Append("</td>");
            foreach (var p in history)
            {
                var v = p.FeaturePsi.GetValueOrDefault(f);
                var bg = psi.Judge(v) switch { MonitorVerdict.Alert => "#ffcecb", MonitorVerdict.Warn => "#fff1c2", _ => "#fff" };
                s.Append("<td style=\"background:").Append(bg).Append("\">").Append(F(v)).Append("</td>");
            }
            s.Append("</tr>");
        }
        return s.Append("</table>").ToString();
    }

    private static string Bars(string name, FeatureDrift f)
    {
        const int W = 340, H = 200, L = 36, B = 50, T = 10;
        var bins = f.Bins;
        if (bins.Count == 0) return "";
        var top = Math.Max(0.01, bins.Max(b => Math.Max(b.ReferenceShare, b.CurrentShare)));
        var slot = (W - L - 10) / (double)bins.Count;
        var s = new StringBuilder();
        s.Append(Inv, $"<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{E(name)} distribution\">");
        s.Append(Inv, $"<line x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - 10}\" y2=\"{H - B}\" stroke=\"#888\"/>");
        s.Append(Inv, $"<text x=\"{L - 4}\" y=\"{T + 8}\" font-size=\"10\" text-anchor=\"end\">{top:P0}</text>");
        for (var i = 0; i < bins.Count; i++)
        {
            var b = bins[i];
            var x = L + i * slot;
            var w = Math.Max(1, slot / 2 - 1);
            var hr = (H - B - T) * b.ReferenceShare / top;
            var hc = (H - B - T) * b.CurrentShare / top;
            s.Append(Inv, $"<rect x=\"{x + 1:0.#}\" y=\"{H - B - hr:0.#}\" width=\"{w:0.#}\" height=\"{hr:0.#}\" fill=\"#8c959f\"><title>{E(b.Label)}: reference {b.ReferenceShare:P1}</title></rect>");
            s.Append(Inv, $"<rect x=\"{x + 1 + w:0.#}\" y=\"{H - B - hc:0.#}\" width=\"{w:0.#}\" height=\"{hc:0.#}\" fill=\"{VerdictColor(f.Verdict)}\"><title>{E(b.Label)}: batch {b.CurrentShare:P1}</title></rect>");
            if (bins.Count <= 12)
            {
                var label = b.Label.Length > 12 ? b.Label[..11] + "…" : b.Label;
                s.Append(Inv, $"<text transform=\"translate({x + slot / 2:0.#},{H - B + 6}) rotate(40)\" font-size=\"9\">{E(label)}</text>");
            }
        }
        s.Append("</svg><figcaption>").Append(E(name)).Append(": reference (grey) vs batch — PSI ").Append(F(f.Psi)).Append("</figcaption></figure>");
        return s.ToString();
    }

    private static string VerdictColor(MonitorVerdict v) => v switch { MonitorVerdict.Alert => "#cf222e", MonitorVerdict.Warn => "#bf8700", _ => "#1a7f37" };
    private static string Name(MonitorVerdict v) => v.ToString().ToLowerInvariant();
    private static string E(string s) => WebUtility.HtmlEncode(s);
    private static string F(double? v) => v is { } d && double.IsFinite(d) ? d.ToString("0.###", Inv) : "";
    private static string P(double? v) => v is { } d && double.IsFinite(d)
        ? d == 0 ? "< 1e-300" : d < 1e-4 ? d.ToString("0.#e0", Inv) : d.ToString("0.####", Inv)
        : "";
    private static string Pct(double v) => v.ToString("0.#%", Inv);
}
