using Pipelines.Data.Tables;
using Pipelines.Quality.Drift;
using Pipelines.Quality.Reports;
using Pipelines.Quality.Spec;

namespace Pipelines.Quality.Checks;

/// <summary>The outcome of checking a table: the report, and which rows were rejected and why.</summary>
public sealed record QualityOutcome(QualityReport Report, bool[] Rejected, string?[] Reasons)
{
    /// <summary>The rejected rows with a <c>_rejected_because</c> column, for the quarantine artifact.</summary>
    public Table Quarantine(Table data) => RowSelection.Take(data, Rejected, Reasons);
}

/// <summary>
/// Checks a table against a <see cref="QualitySpec"/>. Value-level expectations (range, allowed values, regex)
/// also mark the offending rows, which a gate quarantines; table-level ones (row count, nulls, uniqueness,
/// types, freshness, drift) only report.
/// </summary>
public static class QualityChecker
{
    private const int SampleCount = 5;

    public static QualityOutcome Check(Table data, QualitySpec spec, DateTimeOffset now, Table? reference = null)
    {
        var checks = new List<CheckResult>();
        var rejected = new bool[data.RowCount];
        var reasons = new string?[data.RowCount];

        if (spec.RowCount is { } rc)
        {
            var ok = (rc.Min is null || data.RowCount >= rc.Min) && (rc.Max is null || data.RowCount <= rc.Max);
            checks.Add(new CheckResult("row_count", null, rc.Severity, ok, data.RowCount.ToString(), Range(rc.Min, rc.Max), ok ? 0 : data.RowCount, []));
        }

        foreach (var e in spec.Columns)
        {
            var index = data.Schema.IndexOf(e.Column);
            if (index < 0)
            {
                if (e.Required)
                    checks.Add(new CheckResult("column_present", e.Column, e.Severity, false, "missing",
                        $"a column named '{e.Column}' (columns: {string.Join(", ", data.Schema.Fields.Select(f => f.Name))})", 0, []));
                continue;
            }
            CheckColumn(data.Columns[index], e, checks, rejected, reasons);
        }

        if (spec.Freshness is { } fresh) checks.Add(CheckFreshness(data, fresh, now));

        var drift = new List<DriftResult>();
        if (spec.Drift is { } d)
        {
            if (reference is null) throw new ArgumentException("drift checks need a reference dataset");
            foreach (var name in d.Columns)
            {
                if (data.Schema.IndexOf(name) < 0 || reference.Schema.IndexOf(name) < 0)
                {
                    checks.Add(new CheckResult("drift", name, d.PsiSeverity, false, "missing", "the column in both datasets", 0, []));
                    continue;
                }
                var result = DriftMeasures.Compare(name, reference[name], data[name], d.Bins);
                drift.Add(result);
                if (d.PsiMax is { } psiMax)
                    checks.Add(new CheckResult("drift_psi", name, d.PsiSeverity, result.Psi <= psiMax, $"PSI {result.Psi:0.####}", $"PSI ≤ {psiMax}", 0, []));
                if (d.KsMax is { } ksMax && result.KsStatistic is { } ks)
                    checks.Add(new CheckResult("drift_ks", name, d.KsSeverity, ks <= ksMax,
                        $"KS {ks:0.####} (p = {result.KsPValue:0.####})", $"KS ≤ {ksMax}", 0, []));
            }
        }

        var report = new QualityReport(now, data.RowCount, checks, drift, rejected.LongCount(r => r));
        return new QualityOutcome(report, rejected, reasons);
    }

    private static void CheckColumn(Column column, ColumnExpectation e, List<CheckResult> checks, bool[] rejected, string?[] reasons)
    {
        if (e.Type is { } type)
        {
            var ok = Values.Matches(column.Type, type);
            checks.Add(new CheckResult("type", e.Column, e.Severity, ok, column.Type.ToString(), type.ToString().ToLowerInvariant(), 0, []));
            if (!ok) return; // value checks on the wrong type would only add noise
        }
        if (e.MaxNullRatio is { } maxNulls)
        {
            var ratio = column.Length == 0 ? 0 : (double)column.NullCount / column.Length;
            checks.Add(new CheckResult("null_ratio", e.Column, e.Severity, ratio <= maxNulls, $"{ratio:0.####} ({column.NullCount} nulls)",
                $"≤ {maxNulls}", ratio <= maxNulls ? 0 : column.NullCount, []));
        }
        if (e.Min is not null || e.Max is not null)
        {
            if (!Values.IsNumeric(column.Type))
                checks.Add(new CheckResult("range", e.Column, e.Severity, false, $"type {column.Type}", "a numeric column", 0, []));
            else
            {
                var values = Values.AsDoubles(column);
                var bad = new List<int>();
                for (var i = 0; i < values.Length; i++)
                {
                    var v = values[i];
                    if (double.IsNaN(v) && column.IsNull(i)) continue;
                    if ((e.Min is { } lo && !(v >= lo)) || (e.Max is { } hi && !(v <= hi))) bad.Add(i);
                }
                checks.Add(Violations("range", column, e, bad, Range(e.Min, e.Max), rejected, reasons));
            }
        }
        if (e.Allowed is { } allowed)
        {
            var set = allowed.ToHashSet(StringComparer.Ordinal);
            var bad = new List<int>();
            for (var i = 0; i < column.Length; i++)
                if (!column.IsNull(i) && !set.Contains(column.Format(i)!)) bad.Add(i);
            checks.Add(Violations("allowed_values", column, e, bad, $"one of {string.Join(", ", allowed.Select(a => $"'{a}'"))}", rejected, reasons));
        }
        if (e.Pattern is { } pattern)
        {
            var bad = new List<int>();
            for (var i = 0; i < column.Length; i++)
                if (!column.IsNull(i) && !pattern.IsMatch(column.Format(i)!)) bad.Add(i);
            checks.Add(Violations("regex", column, e, bad, $"values matching /{pattern}/", rejected, reasons));
        }
        if (e.Unique)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var dupes = new List<string>();
            long count = 0;
            for (var i = 0; i < column.Length; i++)
            {
                if (column.IsNull(i)) continue;
                var v = column.Format(i)!;
                if (seen.Add(v)) continue;
                count++;
                if (dupes.Count < SampleCount && !dupes.Contains(v)) dupes.Add(v);
            }
            checks.Add(new CheckResult("unique", e.Column, e.Severity, count == 0, $"{count} duplicate values", "no duplicates", count, dupes));
        }
    }

    private static CheckResult Violations(string check, Column column, ColumnExpectation e, List<int> bad, string expected, bool[] rejected, string?[] reasons)
    {
        foreach (var i in bad)
        {
            rejected[i] = true;
            reasons[i] ??= $"{e.Column}: {check} (expected {expected}, got '{column.Format(i)}')";
        }
        var samples = bad.Select(i => column.Format(i) ?? "null").Distinct().Take(SampleCount).ToList();
        return new CheckResult(check, e.Column, e.Severity, bad.Count == 0, $"{bad.Count} violating rows", expected, bad.Count, samples);
    }

    private static CheckResult CheckFreshness(Table data, Freshness fresh, DateTimeOffset now)
    {
        var index = data.Schema.IndexOf(fresh.Column);
        if (index < 0)
            return new CheckResult("freshness", fresh.Column, fresh.Severity, false, "missing column", $"newest value within {fresh.MaxAge}", 0, []);
        var column = data.Columns[index];
        if (column.Type.Kind is not (TypeKind.Date or TypeKind.Timestamp))
            return new CheckResult("freshness", fresh.Column, fresh.Severity, false, $"type {column.Type}", "a date or timestamp column", 0, []);
        double? newest = null;
        for (var i = 0; i < column.Length; i++)
            if (!column.IsNull(i)) newest = Math.Max(newest ?? double.MinValue, Values.EpochSeconds(column, i));
        if (newest is null)
            return new CheckResult("freshness", fresh.Column, fresh.Severity, false, "no values", $"newest value within {fresh.MaxAge}", 0, []);
        var age = now - DateTimeOffset.UnixEpoch.AddSeconds(newest.Value);
        return new CheckResult("freshness", fresh.Column, fresh.Severity, age <= fresh.MaxAge, $"newest value {age.TotalHours:0.#} h old",
            $"newest value within {fresh.MaxAge.TotalHours:0.#} h", 0, []);
    }

    private static string Range(double? min, double? max) => (min, max) switch
    {
        ({ } lo, { } hi) => $"between {lo} and {hi}",
        ({ } lo, null) => $"≥ {lo}",
        (null, { } hi) => $"≤ {hi}",
        _ => "any",
    };
}
