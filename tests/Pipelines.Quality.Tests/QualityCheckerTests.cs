using System.Text.Json.Nodes;
using Pipelines.Data.Tables;
using Pipelines.Quality.Checks;
using Pipelines.Quality.Reports;
using Pipelines.Quality.Spec;

namespace Pipelines.Quality.Tests;

public class QualityCheckerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static QualitySpec Spec(string json, string? drift = null) =>
        QualitySpec.Parse(JsonNode.Parse(json)!.AsObject(), drift is null ? null : JsonNode.Parse(drift)!.AsObject());

    private const string AdultExpectations = """
        {
          "row_count": { "min": 1000 },
          "columns": {
            "age": { "type": "integer", "max_null_ratio": 0, "min": 17, "max": 90 },
            "workclass": { "max_null_ratio": 0.1 },
            "sex": { "allowed": ["Male", "Female"] },
            "Y": { "allowed": [">50K", "<=50K"] }
          }
        }
        """;

    [Test]
    public void AdultTrain_PassesItsExpectations()
    {
        var outcome = QualityChecker.Check(Adult.Train, Spec(AdultExpectations), Now);
        Assert.That(outcome.Report.Verdict, Is.EqualTo(Verdict.Pass), string.Join("\n", outcome.Report.Violations.Select(v => v.Message)));
        Assert.That(outcome.Report.RejectedRows, Is.EqualTo(0));
        Assert.That(outcome.Report.Checks.Single(c => c.Check == "null_ratio" && c.Column == "workclass").Observed, Does.StartWith("0.0564"));
    }

    [Test]
    public void AdultTest_TrailingDotLabels_FailAllowedValues_AndAreQuarantined()
    {
        var outcome = QualityChecker.Check(Adult.Test, Spec(AdultExpectations), Now);
        Assert.That(outcome.Report.Verdict, Is.EqualTo(Verdict.Fail));
        var check = outcome.Report.Violations.Single();
        Assert.That(check.Message, Is.EqualTo("allowed_values on Y: expected one of '>50K', '<=50K', observed 16281 violating rows (e.g. '<=50K.', '>50K.')"));

        var quarantine = outcome.Quarantine(Adult.Test);
        Assert.That(quarantine.RowCount, Is.EqualTo(16281));
        Assert.That(quarantine["_rejected_because"].Format(0), Is.EqualTo("Y: allowed_values (expected one of '>50K', '<=50K', got '<=50K.')"));
        Assert.That(quarantine["age"].Format(0), Is.EqualTo(Adult.Test["age"].Format(0)));
    }

    [Test]
    public void ShiftedAges_FailDrift_WithAReadableReport_WhileTheSameDataPasses()
    {
        const string drift = """{ "columns": ["age", "workclass"], "psi": { "max": 0.2 }, "ks": { "max": 0.1, "severity": "warn" } }""";
        var same = QualityChecker.Check(Adult.Train, Spec("{}", drift), Now, reference: Adult.Train);
        Assert.That(same.Report.Verdict, Is.EqualTo(Verdict.Pass));
        Assert.That(same.Report.Drift.Single(d => d.Column == "age").Psi, Is.EqualTo(0).Within(1e-12));

        var drifted = QualityChecker.Check(Adult.WithAgeShifted(Adult.Train, 15), Spec("{}", drift), Now, reference: Adult.Train);
        Assert.That(drifted.Report.Verdict, Is.EqualTo(Verdict.Fail));
        var age = drifted.Report.Drift.Single(d => d.Column == "age");
        Assert.That(age.Psi, Is.GreaterThan(1.0));
        Assert.That(age.KsStatistic, Is.GreaterThan(0.3));
        Assert.That(age.KsPValue, Is.LessThan(1e-6));
        Assert.That(drifted.Report.Violations.Select(v => (v.Check, v.Column, v.Severity)),
            Is.EquivalentTo(new[] { ("drift_psi", (string?)"age", Severity.Fail), ("drift_ks", "age", Severity.Warn) }));
        Assert.That(drifted.Report.Drift.Single(d => d.Column == "workclass").Psi, Is.EqualTo(0).Within(1e-12), "other columns unchanged");

        var html = HtmlReport.Render(drifted.Report, "adult <train> quality");
        Assert.That(html, Does.Contain("FAIL").And.Contain("drift_psi").And.Contain("adult &lt;train&gt; quality"));
        var json = JsonNode.Parse(drifted.Report.ToJson())!;
        Assert.That(json["verdict"]!.GetValue<string>(), Is.EqualTo("fail"));
        Assert.That(json["violations"]!.AsArray(), Has.Count.EqualTo(2));
    }

    [Test]
    public void ColumnChecks_ReportNullsDuplicatesPatternsTypesAndMissingColumns()
    {
        var ids = new PrimitiveBuilder<long>(DataType.Int64);
        foreach (var v in new long[] { 1, 2, 2, 3 }) ids.Append(v);
        var emails = (BinaryBuilder)ColumnBuilder.Create(DataType.String);
        emails.Append("a@x.org"); emails.AppendNull(); emails.Append("not-an-email"); emails.Append("b@y.org");
        var table = new Table(new Schema([new Field("id", DataType.Int64), new Field("email", DataType.String)]), [ids.Build(), emails.Build()]);

        var outcome = QualityChecker.Check(table, Spec("""
            {
              "row_count": { "min": 10, "severity": "warn" },
              "columns": {
                "id": { "unique": true, "type": "string" },
                "email": { "max_null_ratio": 0.1, "regex": "^[^@]+@[^@]+$" },
                "country": { "severity": "warn" }
              }
            }
            """), Now);
        var messages = outcome.Report.Violations.Select(v => v.Message).ToList();
        Assert.That(messages, Is.EquivalentTo(new[]
        {
            "row_count: expected ≥ 10, observed 4",
            "type on id: expected string, observed int64",
            "null_ratio on email: expected ≤ 0.1, observed 0.25 (1 nulls)",
            "regex on email: expected values matching /^[^@]+@[^@]+$/, observed 1 violating rows (e.g. 'not-an-email')",
            "column_present on country: expected a column named 'country' (columns: id, email), observed missing",
        }));
        Assert.That(outcome.Report.Verdict, Is.EqualTo(Verdict.Fail));
        Assert.That(outcome.Rejected, Is.EqualTo(new[] { false, false, true, false }));

        var unique = QualityChecker.Check(table, Spec("""{ "columns": { "id": { "unique": true } } }"""), Now).Report.Violations.Single();
        Assert.That(unique.Message, Is.EqualTo("unique on id: expected no duplicates, observed 1 duplicate values (e.g. '2')"));
    }

    [Test]
    public void Freshness_FailsWhenTheNewestValueIsTooOld()
    {
        var ts = new PrimitiveBuilder<long>(DataType.Timestamp(TimeUnit.Micros, true));
        ts.Append(Now.AddDays(-3).ToUnixTimeMilliseconds() * 1000);
        ts.Append(Now.AddDays(-2.5).ToUnixTimeMilliseconds() * 1000);
        var table = new Table(new Schema([new Field("loaded_at", DataType.Timestamp(TimeUnit.Micros, true))]), [ts.Build()]);
        var stale = QualityChecker.Check(table, Spec("""{ "freshness": { "column": "loaded_at", "max_age": "2d" } }"""), Now).Report;
        Assert.That(stale.Violations.Single().Message, Is.EqualTo("freshness on loaded_at: expected newest value within 48 h, observed newest value 60 h old"));
        var fresh = QualityChecker.Check(table, Spec("""{ "freshness": { "column": "loaded_at", "max_age": "3d" } }"""), Now).Report;
        Assert.That(fresh.Verdict, Is.EqualTo(Verdict.Pass));
    }

    [TestCase("""{ "columns": { "age": { "max_null_ratio": 2 } } }""", "expectations.columns.age.max_null_ratio: must be between 0 and 1, got 2")]
    [TestCase("""{ "columns": { "age": { "typo": 1 } } }""", "expectations.columns.age.typo: unknown field; expected one of required, type, max_null_ratio, min, max, allowed, unique, regex, severity")]
    [TestCase("""{ "columns": { "age": { "type": "int" } } }""", "expectations.columns.age.type: 'int' is not one of boolean, integer, number, string, date, timestamp")]
    [TestCase("""{ "row_count": { "min": "many" } }""", "expectations.row_count.min: must be a number")]
    [TestCase("""{ "freshness": { "column": "t", "max_age": "soon" } }""", "expectations.freshness.max_age: expected a duration such as 500ms, 10s, 5m, 1h, 1d or 1h30m")]
    [TestCase("""{ "columns": { "e": { "regex": "([" } } }""", "expectations.columns.e.regex: invalid regular expression")]
    public void Spec_Errors_NameTheField(string json, string expected)
    {
        var ex = Assert.Throws<QualitySpecException>(() => Spec(json));
        Assert.That(ex!.Message, Does.StartWith(expected));
    }
}
