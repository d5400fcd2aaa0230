using Pipelines.Core.Activities.State;
using Npgsql;
using NUnit.Framework;
using Pipelines.Activities.Hosting;
using Pipelines.Postgres.ActivityState;
using Pipelines.Testing;

namespace Pipelines.Activities.Model.Tests.Sweeps;

/// <summary>
/// What every <see cref="ISweepReports"/> must do, run against each implementation. <c>A</c> and <c>B</c> stand for
/// two worker processes: for PostgreSQL, two services on two connection pools to the same database.
/// </summary>
public abstract class SweepReportsConformance
{
    protected ISweepReports A = null!;
    protected ISweepReports B = null!;

    private static SweepId NewSweep(string step = "trials") => new(Guid.NewGuid(), step);

    private static IntermediateValue[] Curve(double start, int count, double step = -0.01) =>
        Enumerable.Range(0, count).Select(i => new IntermediateValue(i, start + i * step)).ToArray();

    [Test]
    public async Task ReportsWrittenByOneService_AreReadByAnother()
    {
        var sweep = NewSweep();
        var t0 = new SweepTrialKey(sweep, 0, 1);
        var t1 = new SweepTrialKey(sweep, 1, 1);
        Assert.That(await A.BeginAsync(t0, 10, "logloss"), Is.True);
        Assert.That(await B.BeginAsync(t1, 11, "logloss"), Is.True);
        Assert.That(await A.ReportAsync(t0, Curve(0.7, 3)), Is.True);
        Assert.That(await B.ReportAsync(t1, Curve(0.6, 2)), Is.True);

        var seenByB = await B.ReadAsync(sweep);
        Assert.That(seenByB.Select(t => (t.Trial, t.Number, t.Attempt, t.Metric, t.State)),
            Is.EqualTo(new[] { (0, 10, 1, "logloss", SweepTrialState.Running), (1, 11, 1, "logloss", SweepTrialState.Running) }));
        Assert.That(seenByB[0].Values, Is.EqualTo(Curve(0.7, 3)), "values, in report order, exactly as written");
        Assert.That(seenByB[0].Value, Is.Null);

        Assert.That(await A.FinishAsync(t0, SweepTrialState.Pruned, 0.68, Curve(0.7, 3)), Is.True);
        var finished = await B.ReadAsync(sweep, finishedOnly: true);
        Assert.That(finished.Select(t => (t.Trial, t.State, t.Value)), Is.EqualTo(new[] { (0, SweepTrialState.Pruned, (double?)0.68) }));
        Assert.That(await B.ReadAsync(sweep, finishedOnly: true, known: [0]), Is.Empty, "a known trial is not read again");
    }

    [Test]
    public async Task ANewAttempt_ReplacesTheEarlierAttemptsReports_AndTheEarlierAttemptCanNoLongerWrite()
    {
        var sweep = NewSweep();
        var first = new SweepTrialKey(sweep, 3, 1);
        var retry = first with { Attempt = 2 };
        await A.BeginAsync(first, 3, "auc");
        await A.ReportAsync(first, Curve(0.5, 5, 0.01));

        Assert.That(await B.BeginAsync(retry, 3, "auc"), Is.True);
        var row = (await A.ReadAsync(sweep)).Single();
        Assert.That((row.Attempt, row.State, row.Values.Count), Is.EqualTo((2, SweepTrialState.Running, 0)), "the retry starts from nothing");

        // The first attempt's worker has not noticed yet that it lost the step: none of its writes land.
        Assert.That(await A.ReportAsync(first, Curve(0.5, 6, 0.01)), Is.False);
        Assert.That(await A.FinishAsync(first, SweepTrialState.Complete, 0.55, Curve(0.5, 6, 0.01)), Is.False);
        Assert.That(await A.BeginAsync(first, 3, "auc"), Is.False, "an older attempt cannot begin again over a newer one");

        await B.ReportAsync(retry, Curve(0.6, 2, 0.01));
        Assert.That(await B.FinishAsync(retry, SweepTrialState.Complete, 0.61, Curve(0.6, 2, 0.01)), Is.True);
        row = (await A.ReadAsync(sweep)).Single();
        Assert.That((row.Attempt, row.State, row.Value), Is.EqualTo((2, SweepTrialState.Complete, (double?)0.61)));
        Assert.That(row.Values, Is.EqualTo(Curve(0.6, 2, 0.01)));
    }

    [Test]
    public async Task Finish_IsRepeatableWithTheSameOutcome_ButAFinishedTrialTakesNoOtherOutcomeOrReport()
    {
        var key = new SweepTrialKey(NewSweep(), 0, 1);
        await A.BeginAsync(key, 0, "rmse");
        Assert.That(await A.FinishAsync(key, SweepTrialState.Complete, 1.5, Curve(2, 4)), Is.True);
        Assert.That(await B.FinishAsync(key, SweepTrialState.Complete, 1.5, Curve(2, 4)), Is.True, "a repeated finish (lost reply) succeeds");
        Assert.That(await B.FinishAsync(key, SweepTrialState.Pruned, 1.9, Curve(2, 1)), Is.False);
        Assert.That(await B.ReportAsync(key, Curve(2, 1)), Is.False);
        var row = (await A.ReadAsync(key.Sweep)).Single();
        Assert.That((row.State, row.Value, row.Values.Count), Is.EqualTo((SweepTrialState.Complete, (double?)1.5, 4)));
    }

    [Test]
    public async Task Sweeps_AreIsolated_ByPipelineRunAndStep()
    {
        var sweep = NewSweep();
        var otherStep = sweep with { StepId = "more_trials" };
        var otherRun = sweep with { RunId = Guid.NewGuid() };
        foreach (var (s, value) in new[] { (sweep, 0.1), (otherStep, 0.2), (otherRun, 0.3) })
        {
            var key = new SweepTrialKey(s, 0, 1);
            await A.BeginAsync(key, 0, "logloss");
            await A.FinishAsync(key, SweepTrialState.Complete, value, Curve(value, 2));
        }
        Assert.That((await B.ReadAsync(sweep)).Select(t => t.Value), Is.EqualTo(new double?[] { 0.1 }));
        Assert.That((await B.ReadAsync(otherStep)).Select(t => t.Value), Is.EqualTo(new double?[] { 0.2 }));
        Assert.That((await B.ReadAsync(otherRun)).Select(t => t.Value), Is.EqualTo(new double?[] { 0.3 }));
        Assert.That(await B.ReadAsync(NewSweep()), Is.Empty);
    }

    [Test]
    public async Task ManyTrialsReportingAtOnce_ThroughBothServices_EachKeepTheirOwnValues()
    {
        var sweep = NewSweep();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async trial =>
        {
            var reports = trial % 2 == 0 ? A : B;
            var key = new SweepTrialKey(sweep, trial, 1);
            await reports.BeginAsync(key, trial, "auc");
            for (var n = 1; n <= 20; n++) await reports.ReportAsync(key, Curve(trial, n, 0.001));
            await reports.FinishAsync(key, trial % 3 == 0 ? SweepTrialState.Pruned : SweepTrialState.Complete, trial, Curve(trial, 20, 0.001));
        }));
        var rows = await A.ReadAsync(sweep, finishedOnly: true);
        Assert.That(rows.Select(r => r.Trial), Is.EqualTo(Enumerable.Range(0, 16)));
        foreach (var r in rows)
        {
            Assert.That(r.Values, Is.EqualTo(Curve(r.Trial, 20, 0.001)), $"trial {r.Trial}");
            Assert.That(r.State, Is.EqualTo(r.Trial % 3 == 0 ? SweepTrialState.Pruned : SweepTrialState.Complete));
        }
    }

    [Test]
    public async Task FinishedOnly_LeavesOutRunningAndFailedTrials()
    {
        var sweep = NewSweep();
        var running = new SweepTrialKey(sweep, 0, 1);
        var failed = new SweepTrialKey(sweep, 1, 1);
        var done = new SweepTrialKey(sweep, 2, 1);
        foreach (var k in new[] { running, failed, done }) await A.BeginAsync(k, k.Trial, "auc");
        await A.FinishAsync(failed, SweepTrialState.Failed, null, Curve(0.5, 1));
        await A.FinishAsync(done, SweepTrialState.Complete, 0.9, Curve(0.5, 3));
        Assert.That((await B.ReadAsync(sweep, finishedOnly: true)).Select(t => t.Trial), Is.EqualTo(new[] { 2 }));
        Assert.That((await B.ReadAsync(sweep)).Select(t => (t.Trial, t.State)),
            Is.EqualTo(new[] { (0, SweepTrialState.Running), (1, SweepTrialState.Failed), (2, SweepTrialState.Complete) }));
    }
}

public sealed class InProcessSweepReportsTests : SweepReportsConformance
{
    [SetUp]
    public void SetUp()
    {
        // One process: both "workers" share the one instance, which is all this implementation promises.
        A = B = new InProcessSweepReports();
    }
}

/// <summary>The PostgreSQL implementation (migration 0007), with two services on separate connection pools.</summary>
public sealed class PostgresSweepReportsTests : SweepReportsConformance
{
    private TestDatabase _db = null!;
    private NpgsqlDataSource _second = null!;

    [OneTimeSetUp]
    public async Task CreateDatabase()
    {
        _db = await TestPostgres.CreateDatabaseAsync();
        _second = Pipelines.Postgres.PostgresDataSource.Create(_db.ConnectionString);
        A = new DatabaseSweepReports(new PostgresSweepReports(_db.DataSource));
        B = new DatabaseSweepReports(new PostgresSweepReports(_second));
    }

    [OneTimeTearDown]
    public async Task DropDatabase()
    {
        await _second.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Test]
    public async Task TheDatabaseRejects_ValuesWithoutTheirIterations_AndUnknownStates()
    {
        var run = Guid.NewGuid();
        await A.BeginAsync(new SweepTrialKey(new SweepId(run, "trials"), 0, 1), 0, "auc");
        Assert.ThrowsAsync<PostgresException>(() => _db.ExecAsync(
            "UPDATE sweep_trials SET steps = '{0,1}', intermediate = '{0.5}' WHERE run_id = @r", ("r", run)), "steps and values pair up");
        Assert.ThrowsAsync<PostgresException>(() => _db.ExecAsync(
            "UPDATE sweep_trials SET state = 'done', finished_at = now() WHERE run_id = @r", ("r", run)), "a closed set of states");
        Assert.ThrowsAsync<PostgresException>(() => _db.ExecAsync(
            "UPDATE sweep_trials SET state = 'complete' WHERE run_id = @r", ("r", run)), "a finished trial has finished_at");
    }
}
