using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipelines.Activities.Tests.Data;
using Pipelines.Engine.Model;
using Pipelines.Quality.Drift;

namespace Pipelines.Activities.Tests.Monitoring;

/// <summary>The profile and monitor activities on engine workers with the real artifact store and the PostgreSQL monitoring store.</summary>
public sealed class MonitoringActivityTests
{
    private DataActivityServices _s = null!;

    [OneTimeSetUp] public async Task SetUp() => _s = await DataActivityServices.CreateAsync();
    [OneTimeTearDown] public async Task TearDown() => await _s.DisposeAsync();

    private async Task<JsonObject> ProfileAdultAsync(string monitor) =>
        await _s.OkAsync("profile", new JsonObject
        {
            ["data"] = AdultData.Train, ["null_tokens"] = AdultData.Nulls, ["exclude"] = new JsonArray("Y"), ["monitor"] = monitor,
        });

    [Test]
    public async Task Profile_ThenMonitor_IsOkOnTheHoldout_AlertsOnShiftedAges_AndKeepsTheSeries()
    {
        var profiled = await ProfileAdultAsync("adult");
        Assert.That((profiled["rows"]!.GetValue<long>(), profiled["features"]!.GetValue<int>()), Is.EqualTo((32561L, 14)));
        var profile = ReferenceProfile.Parse(await File.ReadAllTextAsync(await _s.LocalAsync(profiled["profile"]!)), "profile");
        Assert.That((profile.Feature("age")!.Min, profile.Feature("age")!.Max), Is.EqualTo(((double?)17, (double?)90)));
        Assert.That(profile.Feature("workclass")!.Missing, Is.EqualTo(1836), "Adult's training split has 1836 '?' workclasses");
        Assert.That(profile.Feature("Y"), Is.Null, "excluded");

        var holdout = await _s.OkAsync("monitor", new JsonObject { ["monitor"] = "adult", ["data"] = AdultData.Test, ["null_tokens"] = AdultData.Nulls });
        Assert.That(holdout["verdict"]!.GetValue<string>(), Is.EqualTo("ok"), holdout["findings"]!.ToJsonString());
        Assert.That(holdout["max_psi"]!.GetValue<double>(), Is.LessThan(0.01), "the holdout is drawn from the same population");

        var shifted = AdultData.WriteShiftedAge(_s.TempFile("shifted.parquet"), 15);
        var drifted = await _s.OkAsync("monitor", new JsonObject { ["monitor"] = "adult", ["data"] = shifted });
        Assert.That((drifted["verdict"]!.GetValue<string>(), drifted["alert"]!.GetValue<bool>()), Is.EqualTo(("alert", true)));
        Assert.That(drifted["drifted"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "age" }));
        // Fewer than 1 % of training ages are above 75, so the shifted batch stays under the range check's warn level.
        Assert.That(drifted["findings"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "age: PSI 2.579 ≥ alert level 0.25" }));

        Assert.That(await _s.Database.ScalarAsync<string>("SELECT string_agg(verdict, ',' ORDER BY recorded_at) FROM monitor_batches WHERE monitor = 'adult'"),
            Is.EqualTo("ok,alert"));
        var html = await File.ReadAllTextAsync(await _s.LocalAsync(drifted["report_html"]!));
        Assert.That(html, Does.Contain("<svg").And.Contain("b-alert").And.Contain("age: reference (grey) vs batch"));
        Assert.That(html.Split("<th title=").Length - 1, Is.EqualTo(2), "the heat table has a column per batch of the series");
        Assert.That(html, Does.Not.Contain("<script").And.Not.Contain("src="));
        Assert.That(html.Replace("http://www.w3.org/2000/svg", ""), Does.Not.Contain("http"), "no external resources");
    }

    [Test]
    public async Task Monitor_WithAnExplicitReference_StopsTheRunWhenAsked()
    {
        var profiled = await ProfileAdultAsync("adult-stop");
        var shifted = AdultData.WriteShiftedAge(_s.TempFile("shifted-stop.parquet"), 20);
        var (run, step) = await _s.RunStepAsync("monitor", new JsonObject
        {
            ["monitor"] = "adult-explicit", ["data"] = shifted, ["reference"] = profiled["profile"]!.DeepClone(), ["stop_on"] = "alert",
        });
        Assert.That(run.Run.State, Is.EqualTo(RunState.Stopped));
        Assert.That(run.Run.Error, Does.Contain("monitor 'adult-explicit' verdict alert").And.Contain("age: PSI"));
        Assert.That(step.Attempts, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Monitor_WithoutAReference_OrWithBadThresholds_FailsClearly()
    {
        var error = await _s.FailAsync("monitor", new JsonObject { ["monitor"] = "never-profiled", ["data"] = AdultData.Test });
        Assert.That(error, Does.Contain("monitor 'never-profiled' has no reference profile yet"));

        await ProfileAdultAsync("adult-thresholds");
        error = await _s.FailAsync("monitor", new JsonObject
        {
            ["monitor"] = "adult-thresholds", ["data"] = AdultData.Test, ["thresholds"] = new JsonObject { ["psi"] = new JsonObject { ["warn"] = 0.5, ["alert"] = 0.2 } },
        });
        Assert.That(error, Does.Contain("thresholds.psi: warn 0.5 is above alert 0.2"));
        error = await _s.FailAsync("monitor", new JsonObject
        {
            ["monitor"] = "adult-thresholds", ["data"] = AdultData.Test, ["thresholds"] = new JsonObject { ["psy"] = new JsonObject { ["warn"] = 0.1 } },
        });
        Assert.That(error, Does.Contain("thresholds.psy: unknown measure"));
    }

    [Test]
    public async Task JoinLabels_LateDuplicatedAndMissingLabels_RecordsRealizedMetricsPerBatchAndSlice()
    {
        // Two scoring batches (run ids r1, r2); labels arrive in two later files: the second repeats k1 (same value),
        // corrects k2 (conflict: the later arrival wins), labels k9 that was never scored, and k6 stays unlabelled.
        var predictions = _s.TempFile("predictions.csv");
        await File.WriteAllTextAsync(predictions, """
            id,prediction,run_id,sex
            k1,0.9,r1,F
            k2,0.8,r1,M
            k3,0.3,r1,F
            k4,0.1,r2,M
            k5,0.7,r2,M
            k6,0.6,r2,F
            """);
        var early = _s.TempFile("labels-1.csv");
        await File.WriteAllTextAsync(early, "id,y\nk1,>50K\nk2,>50K\nk4,<=50K\n");
        var late = _s.TempFile("labels-2.csv");
        await File.WriteAllTextAsync(late, "id,y\nk1,>50K\nk2,<=50K\nk3,<=50K\nk5,>50K\nk9,>50K\n");

        var outputs = await _s.OkAsync("join_labels", new JsonObject
        {
            ["predictions"] = predictions, ["labels"] = new JsonArray(early, late), ["key"] = "id", ["label"] = "y", ["positive"] = ">50K",
            ["slices"] = new JsonArray("sex"), ["monitor"] = "adult-labels",
        });
        Assert.That((outputs["predictions"]!.GetValue<int>(), outputs["labelled"]!.GetValue<long>(), outputs["missing_labels"]!.GetValue<long>()), Is.EqualTo((6, 5L, 1L)));
        Assert.That((outputs["duplicate_labels"]!.GetValue<long>(), outputs["conflicting_labels"]!.GetValue<long>(), outputs["unmatched_labels"]!.GetValue<long>()),
            Is.EqualTo((2L, 1L, 1L)));
        var slices = outputs["metrics"]!.AsArray().ToDictionary(m => $"{m!["batch"]}/{m["slice"]}", m => m!);
        // r1: k1 (0.9, pos), k2 (0.8, neg after correction), k3 (0.3, neg): accuracy 2/3, AUC: pos 0.9 above both negatives = 1.
        Assert.That(slices["r1/all"]["metrics"]!["accuracy"]!.GetValue<double>(), Is.EqualTo(2.0 / 3).Within(1e-12));
        Assert.That(slices["r1/all"]["metrics"]!["roc_auc"]!.GetValue<double>(), Is.EqualTo(1));
        // r2: k4 (0.1, neg), k5 (0.7, pos) labelled, k6 missing: coverage 2/3, both right.
        Assert.That(slices["r2/all"]["metrics"]!["coverage"]!.GetValue<double>(), Is.EqualTo(2.0 / 3).Within(1e-12));
        Assert.That(slices["r2/all"]["metrics"]!["accuracy"]!.GetValue<double>(), Is.EqualTo(1));
        // r1 by sex: F = k1 (right), k3 (right); M = k2 (0.8 predicted positive, labelled negative: wrong).
        Assert.That(slices["r1/sex=F"]["metrics"]!["accuracy"]!.GetValue<double>(), Is.EqualTo(1));
        Assert.That(slices["r1/sex=M"]["metrics"]!["accuracy"]!.GetValue<double>(), Is.EqualTo(0));
        Assert.That(slices["r1/sex=M"]["metrics"]!["roc_auc"], Is.Null, "one class only: no AUC");

        Assert.That(await _s.Database.ScalarAsync<long>("SELECT count(*) FROM monitor_realized WHERE monitor = 'adult-labels'"), Is.EqualTo(slices.Count));
        Assert.That(await _s.Database.ScalarAsync<long>("SELECT labelled FROM monitor_realized WHERE monitor = 'adult-labels' AND batch = 'r2' AND slice = 'all'"), Is.EqualTo(2));

        // Strict about conflicts when asked: the error names the key and both values.
        var error = await _s.FailAsync("join_labels", new JsonObject
        {
            ["predictions"] = predictions, ["labels"] = new JsonArray(early, late), ["key"] = "id", ["label"] = "y", ["positive"] = ">50K", ["duplicates"] = "error",
        });
        Assert.That(error, Does.Contain("key 'k2' is labelled '>50K' and later '<=50K'"));
    }
}
