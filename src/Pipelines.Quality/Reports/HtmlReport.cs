using System.Globalization;
using System.Net;
using System.Text;

namespace Pipelines.Quality.Reports;

/// <summary>A self-contained HTML page of a quality report, readable without any tooling.</summary>
public static class HtmlReport
{
    public static string Render(QualityReport report, string title)
    {
        var h = new StringBuilder();
        string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        var verdictColor = report.Verdict switch { Verdict.Pass => "#1a7f37", Verdict.Warn => "#9a6700", _ => "#cf222e" };
        h.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328}table{border-collapse:collapse;margin:1rem 0}")
            .Append("td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#f6f8fa}")
            .Append(".pass{color:#1a7f37}.warn{color:#9a6700}.fail{color:#cf222e;font-weight:600}</style></head><body>");
        h.Append("<h1>").Append(E(title)).Append("</h1>");
        h.Append($"<p>Verdict: <strong style=\"color:{verdictColor}\">{report.Verdict.ToString().ToUpperInvariant()}</strong> · ")
            .Append($"{report.RowCount:N0} rows · {report.RejectedRows:N0} rejected · checked {report.CheckedAt:u}</p>");
        h.Append("<h2>Expectations</h2><table><tr><th>result</th><th>check</th><th>column</th><th>expected</th><th>observed</th><th>examples</th></tr>");
        foreach (var c in report.Checks.OrderBy(c => c.Passed))
        {
            var cls = c.Passed ? "pass" : c.Severity == Spec.Severity.Fail ? "fail" : "warn";
            var label = c.Passed ? "ok" : c.Severity == Spec.Severity.Fail ? "FAIL" : "warn";
            h.Append($"<tr><td class=\"{cls}\">{label}</td><td>{E(c.Check)}</td><td>{E(c.Column)}</td><td>{E(c.Expected)}</td>")
                .Append($"<td>{E(c.Observed)}</td><td>{E(string.Join(", ", c.Samples))}</td></tr>");
        }
        h.Append("</table>");
        if (report.Drift.Count > 0)
        {
            h.Append("<h2>Drift against the reference</h2>");
            foreach (var d in report.Drift)
            {
                h.Append($"<h3>{E(d.Column)} <small>({d.Kind})</small></h3><p>PSI {d.Psi.ToString("0.####", CultureInfo.InvariantCulture)}");
                if (d.KsStatistic is { } ks)
                    h.Append($" · KS {ks.ToString("0.####", CultureInfo.InvariantCulture)} (p = {d.KsPValue!.Value.ToString("0.####", CultureInfo.InvariantCulture)})");
                h.Append("</p><table><tr><th>bin</th><th>reference</th><th>current</th><th></th></tr>");
                foreach (var b in d.Bins)
                {
                    var bar = (int)Math.Round(200 * b.CurrentShare);
                    var refBar = (int)Math.Round(200 * b.ReferenceShare);
                    h.Append($"<tr><td>{E(b.Label)}</td><td>{b.ReferenceShare:P1}</td><td>{b.CurrentShare:P1}</td>")
                        .Append($"<td><div style=\"background:#8c959f;height:6px;width:{refBar}px\"></div><div style=\"background:#0969da;height:6px;width:{bar}px\"></div></td></tr>");
                }
                h.Append("</table>");
            }
        }
        return h.Append("</body></html>").ToString();
    }
}
