using System.Globalization;
using System.Net;
using System.Text;

namespace Pipelines.Activities.Model;

/// <summary>
/// Renders evaluation.json as one self-contained HTML page: tables plus inline SVG charts (no script, no CDN, no
/// external file), so it opens offline, in the run view's preview and as an MLflow artifact alike.
/// </summary>
public static class EvaluationReport
{
    private const string Candidate = "#1f6feb";
    private const string Champion = "#d97706";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Metrics where a smaller value is better; the change column colours by this direction.</summary>
    private static readonly HashSet<string> LowerIsBetter = ["log_loss", "rmse", "mae", "mape"];

    /// <summary>Slice metrics that describe the group rather than the model's quality: shown, never coloured.</summary>
    private static readonly HashSet<string> Neutral = ["positive_rate", "selection_rate"];

    private static string E(object? o) => WebUtility.HtmlEncode(o?.ToString() ?? "");

    // Numbers to four decimals: enough to compare candidates, short enough to read.
    private static string N(JsonNode? n) => D(n) is { } d ? d.ToString("0.####", Inv) : E(n);

    // Counts arrive as integers (long), rates as doubles: read both.
    private static double? D(JsonNode? n) => n is JsonValue v
        ? v.TryGetValue<double>(out var d) ? d : v.TryGetValue<long>(out var l) ? l : v.TryGetValue<int>(out var i) ? i : null
        : null;

    private static string F(double v) => v.ToString("0.###", Inv);

    public static string Html(JsonObject report)
    {
        var champion = report["champion"] as JsonObject;
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evaluation</title><style>")
          .Append("body{font-family:system-ui,sans-serif;margin:24px;color:#1f2328}h1{font-size:22px}h2{font-size:17px;margin-top:28px}")
          .Append("table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #d0d7de;padding:3px 9px;text-align:right}th{background:#f6f8fa}")
          .Append("td.l,th.l{text-align:left}.better{color:#1a7f37}.worse{color:#cf222e;font-weight:600}.muted{color:#57606a;font-size:12px}")
          .Append(".charts{display:flex;flex-wrap:wrap;gap:18px}.chart{border:1px solid #d0d7de;border-radius:6px;padding:6px}")
          .Append("svg text{font-family:system-ui,sans-serif;font-size:11px;fill:#1f2328}</style></head><body>");
        sb.Append($"<h1>Evaluation — {E(report["task"])}, {E(report["rows"])} holdout rows</h1>");
        sb.Append(champion is null
            ? "<p class=\"muted\">No champion to compare with.</p>"
            : $"<p>Candidate against <b>{E(champion["alias"] ?? "champion")} v{E(champion["version"])}</b> on the same rows; " +
              $"<span class=\"better\">green</span> is better, <span class=\"worse\">red</span> worse.</p>");

        Metrics(sb, (JsonObject)report["metrics"]!, champion?["metrics"] as JsonObject, champion);
        if (report["charts"] is JsonObject charts) Charts(sb, charts, report["champion_charts"] as JsonObject, champion);
        Slices(sb, report, champion);
        if (report["fairness"] is JsonArray fairness) Fairness(sb, fairness);
        if (report["explanations"] is JsonObject explanations) Explanations(sb, explanations);
        sb.Append("</body></html>");
        return sb.ToString();
    }

    private static string Change(string metric, double? mine, double? theirs)
    {
        if (mine is not { } a || theirs is not { } b) return "<td></td>";
        var delta = a - b;
        var cls = Neutral.Contains(metric) || Math.Abs(delta) < 1e-12 ? "" : (delta > 0) != LowerIsBetter.Contains(metric) ? "better" : "worse";
        return $"<td class=\"{cls}\">{delta.ToString("+0.####;-0.####;0", Inv)}</td>";
    }

    private static void Metrics(StringBuilder sb, JsonObject metrics, JsonObject? theirs, JsonObject? champion)
    {
        sb.Append("<h2>Metrics</h2><table><tr><th class=\"l\">metric</th><th>candidate</th>");
        if (champion is not null) sb.Append($"<th>champion v{E(champion["version"])}</th><th>change</th>");
        sb.Append("</tr>");
        foreach (var (k, v) in metrics)
        {
            sb.Append($"<tr><td class=\"l\">{E(k)}</td><td>{N(v)}</td>");
            if (champion is not null) sb.Append($"<td>{N(theirs?[k])}</td>").Append(Change(k, D(v), D(theirs?[k])));
            sb.Append("</tr>");
        }
        sb.Append("</table>");
    }

    private static void Charts(StringBuilder sb, JsonObject charts, JsonObject? championCharts, JsonObject? champion)
    {
        var label = champion is null ? null : $"champion v{champion["version"]}";
        sb.Append("<h2>Charts</h2><div class=\"charts\">");
        if (charts["roc"] is JsonObject roc)
        {
            var series = new List<Series> { new("candidate", Xs(roc["fpr"]), Xs(roc["tpr"]), Candidate, false) };
            if (championCharts?["roc"] is JsonObject c) series.Add(new(label!, Xs(c["fpr"]), Xs(c["tpr"]), Champion, false));
            sb.Append(LineChart("ROC curve", "false positive rate", "true positive rate", series, diagonal: true));
        }
        if (charts["pr"] is JsonObject pr)
        {
            var series = new List<Series> { new("candidate", Xs(pr["recall"]), Xs(pr["precision"]), Candidate, false) };
            if (championCharts?["pr"] is JsonObject c) series.Add(new(label!, Xs(c["recall"]), Xs(c["precision"]), Champion, false));
            sb.Append(LineChart("Precision–recall curve", "recall", "precision", series, diagonal: false, legendLow: true, legendRight: false));
        }
        if (charts["calibration"] is JsonArray bins)
        {
            static Series Cal(JsonArray b, string name, string color) => new(name,
                b.Select(x => D(x!["mean_predicted"]) ?? 0).ToArray(), b.Select(x => D(x!["fraction_positive"]) ?? 0).ToArray(), color, true);
            var series = new List<Series> { Cal(bins, "candidate", Candidate) };
            if (championCharts?["calibration"] is JsonArray c) series.Add(Cal(c, label!, Champion));
            sb.Append(LineChart("Calibration (10 bins)", "mean predicted probability", "fraction positive", series, diagonal: true));
        }
        if (charts["confusion"] is JsonObject cm) sb.Append(ConfusionChart(cm));
        sb.Append("</div>");
    }

    private static double[] Xs(JsonNode? n) => (n as JsonArray ?? []).Select(v => D(v) ?? double.NaN).ToArray();

    private sealed record Series(string Name, double[] X, double[] Y, string Color, bool Markers);

    private const int Size = 300, Left = 46, Top = 26, Plot = 230;

    /// <summary>A unit-square line chart (both axes 0–1) with grid, ticks, legend and an optional y = x reference.</summary>
    private static string LineChart(string title, string xLabel, string yLabel, IReadOnlyList<Series> series, bool diagonal, bool legendLow = true, bool legendRight = true)
    {
        // Curves that bend towards the top-left (ROC, calibration) leave the lower right free for the legend.
        var lx = legendRight ? Left + Plot - 110 : Left + 8;
        var ly = legendLow ? Top + Plot - 12 - 15 * series.Count : Top + 8;
        static string X(double v) => F(Left + v * Plot);
        static string Y(double v) => F(Top + (1 - v) * Plot);
        var sb = new StringBuilder($"<div class=\"chart\"><svg role=\"img\" aria-label=\"{E(title)}\" width=\"{Size}\" height=\"{Size}\" viewBox=\"0 0 {Size} {Size}\">");
        sb.Append($"<text x=\"{Left + Plot / 2}\" y=\"16\" text-anchor=\"middle\" font-weight=\"600\">{E(title)}</text>");
        for (var t = 0; t <= 4; t++)
        {
            var v = t / 4.0;
            sb.Append($"<line x1=\"{X(v)}\" y1=\"{Y(0)}\" x2=\"{X(v)}\" y2=\"{Y(1)}\" stroke=\"#eaeef2\"/><line x1=\"{X(0)}\" y1=\"{Y(v)}\" x2=\"{X(1)}\" y2=\"{Y(v)}\" stroke=\"#eaeef2\"/>");
            sb.Append($"<text x=\"{X(v)}\" y=\"{Top + Plot + 14}\" text-anchor=\"middle\">{F(v)}</text><text x=\"{Left - 5}\" y=\"{F(Top + (1 - v) * Plot + 4)}\" text-anchor=\"end\">{F(v)}</text>");
        }
        sb.Append($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{Plot}\" height=\"{Plot}\" fill=\"none\" stroke=\"#8c959f\"/>");
        if (diagonal) sb.Append($"<line x1=\"{X(0)}\" y1=\"{Y(0)}\" x2=\"{X(1)}\" y2=\"{Y(1)}\" stroke=\"#8c959f\" stroke-dasharray=\"4 4\"/>");
        sb.Append($"<text x=\"{Left + Plot / 2}\" y=\"{Size - 4}\" text-anchor=\"middle\">{E(xLabel)}</text>");
        sb.Append($"<text transform=\"translate(12 {Top + Plot / 2}) rotate(-90)\" text-anchor=\"middle\">{E(yLabel)}</text>");
        for (var s = 0; s < series.Count; s++)
        {
            var line = series[s];
            var points = string.Join(' ', Enumerable.Range(0, line.X.Length).Where(i => double.IsFinite(line.X[i]) && double.IsFinite(line.Y[i]))
                .Select(i => $"{X(line.X[i])},{Y(line.Y[i])}"));
            sb.Append($"<polyline points=\"{points}\" fill=\"none\" stroke=\"{line.Color}\" stroke-width=\"2\"{(s > 0 ? " stroke-dasharray=\"6 3\"" : "")}/>");
            if (line.Markers)
                for (var i = 0; i < line.X.Length; i++) sb.Append($"<circle cx=\"{X(line.X[i])}\" cy=\"{Y(line.Y[i])}\" r=\"3\" fill=\"{line.Color}\"/>");
            sb.Append($"<rect x=\"{lx}\" y=\"{ly + s * 15}\" width=\"10\" height=\"10\" fill=\"{line.Color}\"/><text x=\"{lx + 14}\" y=\"{ly + 9 + s * 15}\">{E(line.Name)}</text>");
        }
        return sb.Append("</svg></div>").ToString();
    }

    private static string ConfusionChart(JsonObject cm)
    {
        var m = (cm["matrix"] as JsonArray ?? []).Select(r => (r as JsonArray ?? []).Select(v => D(v) ?? 0).ToArray()).ToArray();
        if (m.Length != 2 || m.Any(r => r.Length != 2)) return "";
        var max = Math.Max(1, m.SelectMany(r => r).Max());
        var sb = new StringBuilder($"<div class=\"chart\"><svg role=\"img\" aria-label=\"Confusion matrix\" width=\"{Size}\" height=\"{Size}\" viewBox=\"0 0 {Size} {Size}\">");
        sb.Append($"<text x=\"{Size / 2 + 20}\" y=\"16\" text-anchor=\"middle\" font-weight=\"600\">Confusion matrix at {N(cm["threshold"])}</text>");
        string[] names = ["negative", "positive"];
        const int cell = 105, x0 = 70, y0 = 50;
        for (var r = 0; r < 2; r++)
            for (var c = 0; c < 2; c++)
            {
                var share = m[r][c] / max;
                // Correct cells (the diagonal) in blue, errors in red; darker means more rows.
                var color = r == c ? $"rgba(31,111,235,{F(0.12 + 0.75 * share)})" : $"rgba(207,34,46,{F(0.12 + 0.75 * share)})";
                sb.Append($"<rect x=\"{x0 + c * cell}\" y=\"{y0 + r * cell}\" width=\"{cell}\" height=\"{cell}\" fill=\"{color}\" stroke=\"#fff\"/>");
                sb.Append($"<text x=\"{x0 + c * cell + cell / 2}\" y=\"{y0 + r * cell + cell / 2 + 5}\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"600\">{m[r][c].ToString("0", Inv)}</text>");
            }
        for (var i = 0; i < 2; i++)
        {
            sb.Append($"<text x=\"{x0 + i * cell + cell / 2}\" y=\"{y0 + 2 * cell + 16}\" text-anchor=\"middle\">{names[i]}</text>");
            sb.Append($"<text x=\"{x0 - 6}\" y=\"{y0 + i * cell + cell / 2 + 4}\" text-anchor=\"end\">{names[i]}</text>");
        }
        sb.Append($"<text x=\"{x0 + cell}\" y=\"{y0 + 2 * cell + 32}\" text-anchor=\"middle\">predicted</text>");
        sb.Append($"<text transform=\"translate(14 {y0 + cell}) rotate(-90)\" text-anchor=\"middle\">actual</text>");
        return sb.Append("</svg></div>").ToString();
    }

    private static void Slices(StringBuilder sb, JsonObject report, JsonObject? champion)
    {
        var slices = (report["slices"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        if (slices.Count == 0) return;
        var theirs = (champion?["slices"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var names = slices.SelectMany(s => (s["metrics"] as JsonObject ?? []).Select(p => p.Key)).Distinct().ToList();
        sb.Append("<h2>Slices</h2>");
        if (champion is not null) sb.Append($"<p class=\"muted\">Each cell: candidate, then champion v{E(champion["version"])} and the change.</p>");
        sb.Append("<table><tr><th class=\"l\">column</th><th class=\"l\">value</th><th>rows</th>");
        foreach (var name in names) sb.Append($"<th>{E(name)}</th>");
        sb.Append("</tr>");
        foreach (var s in slices)
        {
            var match = theirs.FirstOrDefault(t => t["column"]?.ToString() == s["column"]?.ToString() && t["value"]?.ToString() == s["value"]?.ToString());
            sb.Append($"<tr><td class=\"l\">{E(s["column"])}</td><td class=\"l\">{E(s["value"])}</td><td>{E(s["rows"])}</td>");
            foreach (var name in names)
            {
                var mine = s["metrics"]?[name];
                sb.Append($"<td>{N(mine)}");
                if (match?["metrics"]?[name] is { } other)
                {
                    var change = Change(name, D(mine), D(other));
                    // Reuse the change cell's class and text inside this cell.
                    var cls = change.Contains("worse") ? "worse" : change.Contains("better") ? "better" : "muted";
                    var text = change[(change.IndexOf('>') + 1)..change.LastIndexOf('<')];
                    sb.Append($"<br><span class=\"muted\">{N(other)}</span> <span class=\"{cls}\">{E(text)}</span>");
                }
                sb.Append("</td>");
            }
            sb.Append("</tr>");
        }
        sb.Append("</table>");
    }

    private static void Fairness(StringBuilder sb, JsonArray fairness)
    {
        sb.Append("<h2>Fairness</h2><p class=\"muted\">Spread of a per-slice rate between the groups of a column (largest minus smallest): " +
                  "demographic parity difference (selection rate), equal opportunity difference (true positive rate).</p>");
        if (fairness.Count == 0)
        {
            sb.Append("<p class=\"muted\">No column has two slices large enough to compare.</p>");
            return;
        }
        sb.Append("<table><tr><th class=\"l\">column</th><th class=\"l\">measure</th><th>difference</th><th class=\"l\">highest</th><th class=\"l\">lowest</th></tr>");
        foreach (var d in fairness.OfType<JsonObject>())
            sb.Append($"<tr><td class=\"l\">{E(d["column"])}</td><td class=\"l\">{E(d["measure"])}</td><td>{N(d["difference"])}</td>" +
                      $"<td class=\"l\">{E(d["high"]?["value"])} ({N(d["high"]?["metric"])})</td><td class=\"l\">{E(d["low"]?["value"])} ({N(d["low"]?["metric"])})</td></tr>");
        sb.Append("</table>");
    }

    private static void Explanations(StringBuilder sb, JsonObject explanations)
    {
        var features = (explanations["features"] as JsonArray ?? []).OfType<JsonObject>().Take(20).ToList();
        if (features.Count == 0) return;
        sb.Append($"<h2>Feature importance</h2><p class=\"muted\">Mean |SHAP| over {E(explanations["rows"])} holdout rows ({E(explanations["method"])}) " +
                  "and XGBoost's gain; the 20 largest by mean |SHAP|.</p>");
        var max = Math.Max(1e-12, features.Max(f => D(f["mean_abs_shap"]) ?? 0));
        const int labelWidth = 230, barWidth = 330, row = 18;
        var height = features.Count * row + 10;
        sb.Append($"<div class=\"chart\"><svg role=\"img\" aria-label=\"Mean absolute SHAP per feature\" width=\"{labelWidth + barWidth + 150}\" height=\"{height}\">");
        for (var i = 0; i < features.Count; i++)
        {
            var f = features[i];
            var v = D(f["mean_abs_shap"]) ?? 0;
            var y = 5 + i * row;
            sb.Append($"<text x=\"{labelWidth - 6}\" y=\"{y + 12}\" text-anchor=\"end\">{E(f["feature"])}</text>");
            sb.Append($"<rect x=\"{labelWidth}\" y=\"{y + 2}\" width=\"{F(barWidth * v / max)}\" height=\"{row - 5}\" fill=\"{Candidate}\"/>");
            sb.Append($"<text x=\"{F(labelWidth + barWidth * v / max + 5)}\" y=\"{y + 12}\">{N(f["mean_abs_shap"])} · gain {N(f["gain"])}</text>");
        }
        sb.Append("</svg></div>");
    }
}
