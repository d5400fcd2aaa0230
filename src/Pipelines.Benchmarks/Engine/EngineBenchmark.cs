using System.Diagnostics;
using System.Text;
using Npgsql;
using Pipelines.Activities;
using Pipelines.Core.Validation;
using Pipelines.Engine.Model;
using Pipelines.Postgres.Engine;
using Pipelines.Postgres.Migrations;
using Pipelines.Postgres.Local;
using Pipelines.Postgres.Sql;

namespace Pipelines.Benchmarks.Engine;

/// <summary>
/// Step-to-step handoff latency on a 100-step chain, no-op job throughput with 1, 2 and 4 worker processes,
/// and the time to recover a killed worker's step. Runs real `pipelines worker` processes against the
/// private local PostgreSQL (durable settings), each measurement in a fresh database.
/// </summary>
public sealed class EngineBenchmark : IBenchmark
{
    public string Name => "engine";
    public string Description => "handoff latency, no-op throughput (1/2/4 worker processes), crash recovery, heartbeat load; args: [JOBS] [--only recovery|heartbeat|executors|handoff [--executor native|hangfire]]";

    private string _admin = "";
    // The worker processes' --executor (native or hangfire); `--only executors` measures both side by side.
    private string _executor = "native";
    private List<double> _lastSamples = [];
    private readonly Pipelines.Core.Activities.ActivityRegistry _registry = BuiltinActivities.CreateRegistry();

    public async Task<int> RunAsync(string[] args, BenchmarkReport report)
    {
        var jobs = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 5000;
        var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        var root = Path.GetDirectoryName(Path.GetDirectoryName(report.Path))!;
        var pgDir = Path.Combine(root, ".pipelines", "bench-postgres");
        _admin = await new LocalPostgres(pgDir, durable: true, Console.WriteLine).EnsureStartedAsync("postgres");
        if (only is not null)
        {
            // Quick single scenarios, printed only (the full run writes docs/benchmarks.md).
            if (only == "recovery") Console.WriteLine($"recovery at default settings {(await RecoveryAsync()).TotalSeconds:F2} s");
            else if (only == "heartbeat")
            {
                var hb = await HeartbeatLoadAsync(pgDir, workers: 100, jobsEach: 4, TimeSpan.FromSeconds(20));
                Console.WriteLine($"heartbeat load, 100 workers x 4 jobs: {hb.StatementsPerSecond:F0} statements/s, postgres CPU {hb.CpuPercent:F1} % of one core");
            }
            else if (only == "handoff")
            {
                _executor = args.SkipWhile(a => a != "--executor").Skip(1).FirstOrDefault() ?? "native";
                var h = await HandoffAsync(chains: 3);
                Console.WriteLine($"{_executor}: handoff p50 {h.P50:F2} ms, p99 {h.P99:F2} ms, max {h.Max:F2} ms ({h.N} handoffs, load {Load()})");
                Console.WriteLine($"slowest: {string.Join(", ", _lastSamples.OrderByDescending(x => x).Take(8).Select(x => x.ToString("F0")))} ms");
            }
            else if (only == "executors")
            {
                report.WriteSection("engine-executors", await ExecutorsAsync(jobs));
                Console.WriteLine($"written to {report.Path}");
            }
            else throw new ArgumentException($"--only {only}: expected recovery, heartbeat, executors or handoff");
            return 0;
        }

        var md = new StringBuilder();
        md.AppendLine("## Engine (issues 2 and 19)").AppendLine();
        md.AppendLine($"Command: `dotnet run -c Release --project src/Pipelines.Benchmarks -- engine {jobs}`. Measured {DateTime.UtcNow:yyyy-MM-dd} on {BenchmarkReport.MachineLine()}; ");
        md.AppendLine("PostgreSQL 15 private local server with default durability (fsync on), on the same machine as the workers. Times are taken from the attempt rows the engine records.").AppendLine();

        var handoff = await HandoffAsync(chains: 3);
        Console.WriteLine($"handoff p50 {handoff.P50:F2} ms, p99 {handoff.P99:F2} ms, max {handoff.Max:F2} ms ({handoff.N} handoffs)");
        md.AppendLine("### Step-to-step handoff on a 100-step chain").AppendLine();
        md.AppendLine("From a step's completion (its attempt's end) to the next step's claim (the next attempt's start); one worker process; three chains.").AppendLine();
        md.AppendLine("| handoffs | p50 | p99 | max | target |").AppendLine("|---|---|---|---|---|");
        md.AppendLine($"| {handoff.N} | {handoff.P50:F2} ms | {handoff.P99:F2} ms | {handoff.Max:F2} ms | p50 ≤ 5 ms, p99 ≤ 50 ms |").AppendLine();

        md.AppendLine("### No-op job throughput").AppendLine();
        md.AppendLine($"{jobs} jobs queued before the workers start; jobs/s = jobs ÷ (last attempt end − first attempt start). Each worker process runs 8 jobs at once. ");
        md.AppendLine("*Independent runs*: one single-step run per job. *One fan-out*: one run whose for_each step has all the jobs as items (an item's completion locks only its own row).").AppendLine();
        md.AppendLine("| worker processes | independent runs | one fan-out | target |").AppendLine("|---|---|---|---|");
        foreach (var workers in new[] { 1, 2, 4 })
        {
            var independent = await ThroughputAsync(workers, jobs, fanOut: false);
            var fan = await ThroughputAsync(workers, jobs, fanOut: true);
            Console.WriteLine($"{workers} worker(s): independent {independent:F0} jobs/s, fan-out {fan:F0} jobs/s");
            md.AppendLine($"| {workers} | {independent:F0} jobs/s | {fan:F0} jobs/s | {(workers == 4 ? "≥ 1,000 jobs/s" : "")} |");
        }
        md.AppendLine();
        md.AppendLine("PostgreSQL and every worker process share the machine's two cores, so on this machine more processes add contention, not capacity; ");
        md.AppendLine("on more machines each worker process brings its own cores. A fan-out's items complete without the run's or the parent's row; the parent closes once, after the last item's commit.").AppendLine();

        var recovery = await RecoveryAsync();
        Console.WriteLine($"recovery {recovery.TotalSeconds:F2} s");
        md.AppendLine("### Recovery of a killed worker's step, at default settings").AppendLine();
        md.AppendLine("A worker with the default settings (lease 4 s, heartbeat 1 s) is killed with SIGKILL while running a step; a second default worker process (leader sweep every 0.5 s) is already running. ");
        md.AppendLine("Time from the kill to the second attempt's start: at most lease + sweep interval = 4.5 s, less by however long ago the last heartbeat was.").AppendLine();
        md.AppendLine($"| lease | heartbeat | leader sweep | recovery | target |").AppendLine("|---|---|---|---|---|");
        md.AppendLine($"| 4 s | 1 s | 0.5 s | {recovery.TotalSeconds:F2} s | ≤ 5 s |").AppendLine();

        var heartbeat = await HeartbeatLoadAsync(pgDir, workers: 100, jobsEach: 4, TimeSpan.FromSeconds(20));
        Console.WriteLine($"heartbeat load: {heartbeat.StatementsPerSecond:F0} statements/s, postgres CPU {heartbeat.CpuPercent:F1} %");
        md.AppendLine("### Heartbeat load of 100 workers").AppendLine();
        md.AppendLine("100 workers, each holding 4 running jobs, heartbeat at the default interval (1 s) for 20 s through the engine's own store, ");
        md.AppendLine("from one process (100 worker processes would not fit this machine). A heartbeat is one statement (worker row and leases). ");
        md.AppendLine("Statements/s from pg_stat_database's committed transactions of the benchmark database; CPU is the PostgreSQL server's processes' user + system time over the same span.").AppendLine();
        md.AppendLine("| workers | statements/s | PostgreSQL CPU (% of one core) |").AppendLine("|---|---|---|");
        md.AppendLine($"| 100 | {heartbeat.StatementsPerSecond:F0} | {heartbeat.CpuPercent:F1} % |").AppendLine();
        md.AppendLine("For scale: Hangfire.PostgreSql polls its queue every 15 s by default; Airflow 2 measured about 12 s of total task lag for 1,000 tasks.");

        report.WriteSection("engine", md.ToString());
        Console.WriteLine($"written to {report.Path}");
        return 0;
    }

    private async Task<(NpgsqlDataSource Db, string Cs, PostgresEngineStore Store)> FreshDatabaseAsync()
    {
        var name = "bench_" + Guid.NewGuid().ToString("N")[..10];
        await using (var conn = new NpgsqlConnection(_admin))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var cs = new NpgsqlConnectionStringBuilder(_admin) { Database = name }.ConnectionString;
        var db = Pipelines.Postgres.PostgresDataSource.Create(cs);
        await Migrator.ApplyAsync(db);
        return (db, cs, new PostgresEngineStore(db, _registry));
    }

    private Process StartWorker(string cs, params string[] extra)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipelines.dll"));
        foreach (var a in (string[])["worker", "--db", cs, "--concurrency", "8", "--executor", _executor, .. extra]) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static void Stop(IEnumerable<Process> processes)
    {
        foreach (var p in processes)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit();
            p.Dispose();
        }
    }

    private static async Task<RunDetails> WaitAsync(PostgresEngineStore store, Guid run, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var d = (await store.GetRunAsync(run))!;
            if (d.Run.State.IsTerminal()) return d;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {run} did not finish in {timeout}");
            await Task.Delay(200);
        }
    }

    private async Task<(int N, double P50, double P99, double Max)> HandoffAsync(int chains)
    {
        var (db, cs, store) = await FreshDatabaseAsync();
        var yaml = new StringBuilder("name: chain\nsteps:\n");
        for (var i = 0; i < 100; i++)
            yaml.Append($"  - id: s{i}\n    uses: noop\n    cache: false\n").Append(i == 0 ? "" : $"    needs: s{i - 1}\n");
        var definition = WorkflowValidator.LoadText(yaml.ToString(), "chain.yaml", _registry);
        var worker = StartWorker(cs);
        var samples = new List<double>();
        try
        {
            await Task.Delay(StartupWait); // let the worker connect and start listening
            for (var c = 0; c < chains; c++)
            {
                var run = await store.SubmitRunAsync(new SubmitRun(definition, new(), "bench"));
                var details = await WaitAsync(store, run, TimeSpan.FromMinutes(2));
                var attempts = details.Steps.OrderBy(s => int.Parse(s.StepId[1..])).Select(s => s.Attempts.Single()).ToList();
                for (var i = 1; i < attempts.Count; i++)
                    samples.Add((attempts[i].StartedAt - attempts[i - 1].EndedAt!.Value).TotalMilliseconds);
            }
        }
        finally
        {
            Stop([worker]);
            await db.DisposeAsync();
        }
        samples.Sort();
        _lastSamples = samples;
        return (samples.Count, Percentile(samples, 0.50), Percentile(samples, 0.99), samples[^1]);
    }

    // A Hangfire worker first installs Hangfire's schema in the fresh database.
    private TimeSpan StartupWait => TimeSpan.FromMilliseconds(_executor == "native" ? 1500 : 4000);

    private static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    /// <summary>Native and Hangfire executors side by side: handoff, throughput, and recovery after SIGKILL (with duplicates counted).</summary>
    private async Task<string> ExecutorsAsync(int jobs)
    {
        var md = new StringBuilder();
        md.AppendLine("## Executors: native vs Hangfire (issue 20)").AppendLine();
        md.AppendLine($"Command: `dotnet run -c Release --project src/Pipelines.Benchmarks -- engine {jobs} --only executors`. Measured {DateTime.UtcNow:yyyy-MM-dd} on {BenchmarkReport.MachineLine()}; ");
        md.AppendLine("real `pipelines worker --executor native|hangfire` processes (8 slots each) on the private local PostgreSQL (fsync on), a fresh database per measurement; ");
        md.AppendLine("times from the attempt rows. Load is the 1-minute load average (`/proc/loadavg`) just before each measurement; the machine is shared.").AppendLine();
        md.AppendLine("| executor | handoff p50 | handoff p99 | load | independent runs, 1 worker | load | one fan-out, 1 worker | load | recovery after SIGKILL | attempts of the killed step | load |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var executor in new[] { "native", "hangfire" })
        {
            _executor = executor;
            var l1 = Load();
            var handoff = await HandoffAsync(chains: 1);
            var l2 = Load();
            var independent = await ThroughputAsync(1, jobs, fanOut: false);
            var l3 = Load();
            var fan = await ThroughputAsync(1, jobs, fanOut: true);
            var l4 = Load();
            var (recovery, attempts) = await RecoveryWithAttemptsAsync();
            Console.WriteLine($"{executor}: handoff p50 {handoff.P50:F2} ms p99 {handoff.P99:F2} ms (load {l1}); independent {independent:F0} jobs/s (load {l2}); " +
                $"fan-out {fan:F0} jobs/s (load {l3}); recovery {recovery.TotalSeconds:F2} s, attempts {attempts} (load {l4})");
            md.AppendLine($"| {executor} | {handoff.P50:F2} ms | {handoff.P99:F2} ms | {l1} | {independent:F0} jobs/s | {l2} | {fan:F0} jobs/s | {l3} | {recovery.TotalSeconds:F2} s | {attempts} | {l4} |");
        }
        _executor = "native";
        md.AppendLine();
        md.AppendLine("Recovery: a worker running a 2 s step is killed with SIGKILL while a second worker of the same executor runs; the time is from the kill to attempt 2's start ");
        md.AppendLine("(default lease 4 s, heartbeat 1 s, leader sweep 0.5 s). *Attempts* lists every attempt of that step with its state: exactly one succeeded means no duplicate. ");
        md.AppendLine("Handoff: one 100-step chain, so p99 is the slowest of its 99 handoffs. Throughput: jobs queued before the worker starts.");
        return md.ToString();
    }

    private async Task<(TimeSpan Recovery, string Attempts)> RecoveryWithAttemptsAsync()
    {
        var (recovery, details) = await RecoveryRunAsync();
        return (recovery, string.Join(", ", details.Steps[0].Attempts.OrderBy(a => a.Attempt).Select(a => $"{a.Attempt} {a.State.ToString().ToLowerInvariant()}")));
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private async Task<double> ThroughputAsync(int workers, int jobs, bool fanOut)
    {
        var (db, cs, store) = await FreshDatabaseAsync();
        try
        {
            if (fanOut)
            {
                var d = WorkflowValidator.LoadText($$$"""
                    name: fan
                    steps:
                      - id: items
                        uses: range
                        with: { count: {{{jobs}}} }
                      - id: each
                        uses: noop
                        cache: false
                        for_each: { items: "${{ steps.items.outputs.items }}" }
                        with: { value: "${{ item }}" }
                    """, "fan.yaml", _registry);
                await store.SubmitRunAsync(new SubmitRun(d, new(), "bench"));
            }
            else
            {
                var d = WorkflowValidator.LoadText("name: one\nsteps:\n  - id: a\n    uses: noop\n    cache: false\n", "one.yaml", _registry);
                await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = 8 },
                    async (_, ct) => await store.SubmitRunAsync(new SubmitRun(d, new(), "bench"), ct));
            }
            var processes = Enumerable.Range(0, workers).Select(_ => StartWorker(cs)).ToList();
            try
            {
                await using var conn = await db.OpenConnectionAsync();
                var target = fanOut ? jobs + 1 : jobs;
                var deadline = DateTime.UtcNow.AddMinutes(10);
                while (true)
                {
                    await using var cmd = new NpgsqlCommand("SELECT count(*) FROM attempts WHERE state = 'succeeded'", conn);
                    if ((long)(await cmd.ExecuteScalarAsync())! >= target) break;
                    if (DateTime.UtcNow > deadline) throw new TimeoutException("throughput run did not finish");
                    await Task.Delay(100);
                }
                // Only the no-op jobs count: the range step that produced the fan-out's items is excluded.
                await using var span = new NpgsqlCommand("""
                    SELECT extract(epoch FROM max(a.ended_at) - min(a.started_at)) FROM attempts a
                    JOIN step_runs s ON s.id = a.step_run_id WHERE s.kind = 'noop'
                    """, conn);
                var seconds = Convert.ToDouble(await span.ExecuteScalarAsync());
                return jobs / seconds;
            }
            finally
            {
                Stop(processes);
            }
        }
        finally
        {
            await db.DisposeAsync();
        }
    }

    private async Task<TimeSpan> RecoveryAsync() => (await RecoveryRunAsync()).Recovery;

    private async Task<(TimeSpan Recovery, RunDetails Details)> RecoveryRunAsync()
    {
        var (db, cs, store) = await FreshDatabaseAsync();
        // Default lease, heartbeat and leader interval: what a user gets without tuning.
        var args = Array.Empty<string>();
        var victim = StartWorker(cs, args);
        Process? survivor = null;
        try
        {
            await Task.Delay(StartupWait);
            // The step must outlast the survivor's start (longer for a Hangfire worker).
            var sleep = 2000 + (int)(StartupWait.TotalMilliseconds - 1500);
            var d = WorkflowValidator.LoadText($"name: crash\nsteps:\n  - id: a\n    uses: sleep\n    with: {{ ms: {sleep} }}\n", "crash.yaml", _registry);
            var run = await store.SubmitRunAsync(new SubmitRun(d, new(), "bench"));
            while ((await store.GetRunAsync(run))!.Steps[0].State != StepState.Running) await Task.Delay(20);
            survivor = StartWorker(cs, args);
            await Task.Delay(StartupWait);
            var killedAt = DateTimeOffset.UtcNow;
            victim.Kill(entireProcessTree: true);
            var details = await WaitAsync(store, run, TimeSpan.FromMinutes(1));
            var second = details.Steps[0].Attempts.Single(a => a.Attempt == 2);
            return (second.StartedAt - killedAt, details);
        }
        finally
        {
            Stop(survivor is null ? [victim] : [victim, survivor]);
            await db.DisposeAsync();
        }
    }

    /// <summary>
    /// Heartbeats of <paramref name="workers"/> simulated workers, each renewing <paramref name="jobsEach"/> real running
    /// jobs at the default interval through the engine's store.
    /// </summary>
    private async Task<(double StatementsPerSecond, double CpuPercent)> HeartbeatLoadAsync(string pgDir, int workers, int jobsEach, TimeSpan span)
    {
        var (db, _, store) = await FreshDatabaseAsync();
        try
        {
            var options = new Pipelines.Engine.Workers.WorkerOptions();
            var d = WorkflowValidator.LoadText("name: one\nsteps:\n  - id: a\n    uses: noop\n    cache: false\n", "one.yaml", _registry);
            for (var i = 0; i < workers * jobsEach; i++) await store.SubmitRunAsync(new SubmitRun(d, new(), "bench"));
            var held = new List<(string Id, List<(Guid, int)> Jobs)>();
            for (var w = 0; w < workers; w++)
            {
                var id = $"hb-{w}";
                await store.RegisterWorkerAsync(new WorkerInfo(id, "bench", w, ["default"], jobsEach));
                // Claimed with a long lease so nothing expires if a beat runs late on a busy machine.
                var claimed = await store.ClaimAsync(id, ["default"], jobsEach, TimeSpan.FromMinutes(10));
                held.Add((id, claimed.Select(j => (j.StepRunId, j.Attempt)).ToList()));
            }
            var postmaster = int.Parse(File.ReadLines(Path.Combine(pgDir, "postgres", "data", "postmaster.pid")).First());
            await using var conn = await db.OpenConnectionAsync();
            async Task<long> CommitsAsync()
            {
                await using var cmd = new NpgsqlCommand("SELECT pg_stat_clear_snapshot(); SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", conn);
                await using var r = await cmd.ExecuteReaderAsync();
                await r.NextResultAsync();
                await r.ReadAsync();
                return r.Get<long>("xact_commit");
            }
            using var stop = new CancellationTokenSource();
            var loops = held.Select((h, i) => Task.Run(async () =>
            {
                // Spread over the interval, as independent workers are.
                await Task.Delay(options.HeartbeatInterval * i / workers);
                while (!stop.IsCancellationRequested)
                {
                    await store.HeartbeatAsync(h.Id, h.Jobs, options.Lease);
                    try { await Task.Delay(options.HeartbeatInterval, stop.Token); } catch (OperationCanceledException) { }
                }
            })).ToList();
            await Task.Delay(TimeSpan.FromSeconds(2)); // all loops under way
            var commits0 = await CommitsAsync();
            var cpu0 = PostgresCpuTicks(postmaster);
            var clock = Stopwatch.StartNew();
            await Task.Delay(span);
            var commits1 = await CommitsAsync();
            var cpu1 = PostgresCpuTicks(postmaster);
            var seconds = clock.Elapsed.TotalSeconds;
            await stop.CancelAsync();
            await Task.WhenAll(loops);
            // The two pg_stat reads are transactions of their own, as is the first one's reading.
            return ((commits1 - commits0 - 1) / seconds, (cpu1 - cpu0) / 100.0 / seconds * 100);
        }
        finally
        {
            await db.DisposeAsync();
        }
    }

    /// <summary>User + system CPU ticks (1/100 s) of the PostgreSQL server: the postmaster and its backends.</summary>
    private static long PostgresCpuTicks(int postmaster)
    {
        long total = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); } catch (IOException) { continue; } catch (UnauthorizedAccessException) { continue; }
            // Fields after the command name (which may contain spaces) start after the last ')'.
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ppid = int.Parse(f[1]);
            if (pid == postmaster || ppid == postmaster) total += long.Parse(f[11]) + long.Parse(f[12]);
        }
        return total;
    }
}
