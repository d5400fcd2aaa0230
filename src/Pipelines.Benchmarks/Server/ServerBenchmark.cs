using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Pipelines.Postgres.Local;
using Pipelines.Postgres.Sql;

namespace Pipelines.Benchmarks.Server;

/// <summary>
/// Load on the HTTP API: N concurrent clients each follow the event stream and list runs in a loop while the nightly
/// workflow runs on the server's in-process workers. A real `pipelines server` process on the private local PostgreSQL;
/// the clients run in this process.
/// </summary>
public sealed class ServerBenchmark : IBenchmark
{
    public string Name => "server";
    public string Description => "API latency (p50/p99) and errors: N clients listing runs and following SSE while a nightly runs";

    public async Task<int> RunAsync(string[] args, BenchmarkReport report)
    {
        var clients = args.Length > 0 ? int.Parse(args[0]) : 200;
        var seconds = args.Length > 1 ? int.Parse(args[1]) : 90;
        var root = Path.GetDirectoryName(Path.GetDirectoryName(report.Path))!;
        var admin = await new LocalPostgres(Path.Combine(root, ".pipelines", "bench-postgres"), durable: true, Console.WriteLine).EnsureStartedAsync("postgres");
        var dbName = "bench_server_" + Guid.NewGuid().ToString("N")[..8];
        await using (var conn = new NpgsqlConnection(admin))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {dbName}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var cs = new NpgsqlConnectionStringBuilder(admin) { Database = dbName }.ConnectionString;
        var home = Path.Combine(Path.GetTempPath(), "pipelines-bench-server-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(home);
        var cli = Path.Combine(AppContext.BaseDirectory, "pipelines.dll");
        try
        {
            var key = (await RunCliAsync(cli, root, home, cs, "keys", "create", "--name", "bench", "--role", "operator", "--db", cs)).Trim().Split('\n')[^1];
            using var server = StartServer(cli, root, home, cs);
            var url = await AddressAsync(server);
            Console.WriteLine($"server at {url}");

            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients * 2 + 10, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
            using var http = new HttpClient(handler) { BaseAddress = new Uri(url), Timeout = Timeout.InfiniteTimeSpan };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using (var start = await http.PostAsJsonAsync("/api/v1/runs", new { workflow = "adult-income-nightly" }))
                if (!start.IsSuccessStatusCode) throw new InvalidOperationException($"starting the nightly: {(int)start.StatusCode} {await start.Content.ReadAsStringAsync()}");
            var uptimeBefore = Uptime();

            var latencies = new ConcurrentBag<double>();
            var errors = new ConcurrentQueue<string>();
            long events = 0;
            // When each event reached a client (position → first receipt), to compare with the event row's creation time.
            var received = new ConcurrentDictionary<long, DateTime>();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            // Delivery times are taken by one more stream read on a thread of its own, blocked in the socket read: the
            // 200 clients' own continuations queue behind this process's busy thread pool, which would time the load
            // generator rather than the server.
            var probe = new Thread(() => Probe(http, stop.Token, errors, position => received.TryAdd(position, DateTime.UtcNow))) { IsBackground = true, Name = "sse-probe" };
            probe.Start();
            var tasks = Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
            {
                var follow = FollowAsync(http, stop.Token, errors, position => Interlocked.Increment(ref events));
                while (!stop.IsCancellationRequested)
                {
                    var sw = Stopwatch.StartNew();
                    try
                    {
                        using var r = await http.GetAsync("/api/v1/runs?limit=20", stop.Token);
                        await r.Content.ReadAsByteArrayAsync(stop.Token);
                        if (!r.IsSuccessStatusCode) errors.Enqueue($"list: HTTP {(int)r.StatusCode}");
                        else latencies.Add(sw.Elapsed.TotalMilliseconds);
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
                    catch (Exception e) { errors.Enqueue($"list: {e.GetType().Name}: {e.Message}"); }
                }
                await follow;
            })).ToList();
            var loadSamples = new List<string>();
            while (!stop.IsCancellationRequested)
            {
                try { await Task.Delay(TimeSpan.FromSeconds(30), stop.Token); } catch (OperationCanceledException) { }
                loadSamples.Add(Uptime());
            }
            await Task.WhenAll(tasks);
            probe.Join();
            var nightly = await http.GetFromJsonAsync<JsonObject>("/api/v1/runs?limit=1");
            var state = nightly!["items"]![0]!["state"]!.GetValue<string>();
            var steps = (await http.GetFromJsonAsync<JsonObject>($"/api/v1/runs/{nightly["items"]![0]!["id"]}"))!["steps"]!.AsArray()
                .Count(s => s!["state"]!.GetValue<string>() == "succeeded");
            server.Kill(entireProcessTree: true);
            var parts = await DeliveryLatenciesAsync(cs, received);
            var delivery = parts.Total;

            var sorted = latencies.OrderBy(x => x).ToArray();
            double P(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            var errorKinds = errors.GroupBy(e => e.Length > 80 ? e[..80] : e).Select(g => $"{g.Count()}× {g.Key}").ToList();
            Console.WriteLine($"{sorted.Length} list requests, p50 {P(0.5):F1} ms, p99 {P(0.99):F1} ms, max {sorted.LastOrDefault():F1} ms; {events} events; {errors.Count} errors");
            static double Q(double[] xs, double q) => xs.Length == 0 ? double.NaN : xs[Math.Min(xs.Length - 1, (int)Math.Ceiling(q * xs.Length) - 1)];
            double D(double q) => Q(delivery, q);
            string Split(double[] xs) => $"p50 {Q(xs, 0.5):F1} ms, p99 {Q(xs, 0.99):F1} ms";
            Console.WriteLine($"event delivery (commit → probe client): {delivery.Length} events, p50 {D(0.5):F1} ms, p99 {D(0.99):F1} ms, max {delivery.LastOrDefault():F1} ms");
            Console.WriteLine($"  row written → committed {Split(parts.ToCommit)}; committed → positioned {Split(parts.ToPositioned)}; positioned → probe client {Split(parts.ToClient)}");
            foreach (var e in errorKinds.Take(5)) Console.WriteLine("  " + e);

            var md = new StringBuilder();
            md.AppendLine("## Server API under load (issue 15)").AppendLine();
            md.AppendLine($"Command: `dotnet run -c Release --project src/Pipelines.Benchmarks -- server {clients} {seconds}`. Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {BenchmarkReport.MachineLine()}. ");
            md.AppendLine($"A `pipelines server --workers 4 --workflows workflows/` process on the private local PostgreSQL (fsync on) runs `adult-income-nightly`; ");
            md.AppendLine($"{clients} clients in the benchmark process each keep an SSE stream (`/api/v1/events`) open and list runs (`GET /api/v1/runs?limit=20`, API key) back to back for {seconds} s. ");
            md.AppendLine("Server, PostgreSQL, workers and clients share the machine's cores; the load averages below show what else ran.").AppendLine();
            md.AppendLine("| clients | list requests | p50 | p99 | max | SSE events received | errors | target |").AppendLine("|---|---|---|---|---|---|---|---|");
            md.AppendLine($"| {clients} | {sorted.Length} | {P(0.5):F1} ms | {P(0.99):F1} ms | {sorted.LastOrDefault():F1} ms | {events} | {errors.Count} | p99 < 200 ms, 0 errors |").AppendLine();
            md.AppendLine("Live events under the same load: from the commit of the change (PostgreSQL's commit timestamp of the transaction that wrote ");
            md.AppendLine("the event row, `events.committed_at`) to its receipt by a probe client, same clock: one more SSE stream ");
            md.AppendLine("read by a thread of its own in the benchmark process, so the time is the server's and not the load generator's queue.").AppendLine();
            md.AppendLine("| events | p50 | p99 | max | target |").AppendLine("|---|---|---|---|---|");
            md.AppendLine($"| {delivery.Length} | {D(0.5):F1} ms | {D(0.99):F1} ms | {delivery.LastOrDefault():F1} ms | a step's change seen within 100 ms of its commit |").AppendLine();
            md.AppendLine($"Parts: committed → positioned by the server (wake-up and position assignment) {Split(parts.ToPositioned)}; ");
            md.AppendLine($"positioned → probe client {Split(parts.ToClient)}. Before the commit, the rest of the changing transaction after the row was written took {Split(parts.ToCommit)}.").AppendLine();
            md.AppendLine($"Machine load (1, 5, 15-minute load averages and tasks, from /proc/loadavg as `uptime` shows them): before `{uptimeBefore}`; during: {string.Join("; ", loadSamples.Select(s => $"`{s}`"))}. ");
            md.AppendLine($"The nightly was `{state}` at the end ({steps} steps succeeded).{(errorKinds.Count > 0 ? " Errors: " + string.Join("; ", errorKinds.Take(5)) + "." : "")}").AppendLine();
            report.WriteSection("Server API under load (issue 15)", md.ToString());
            return 0;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await using (var conn = new NpgsqlConnection(admin))
            {
                await conn.OpenAsync();
                await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {dbName} WITH (FORCE)", conn);
                await cmd.ExecuteNonQueryAsync();
            }
            try { Directory.Delete(home, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Milliseconds from each received event's commit to its first receipt, sorted, with the parts: row written →
    /// committed (the rest of the changing transaction), committed → positioned (the wake-up and the server's
    /// position assignment), positioned → received. Commit times come from PostgreSQL's commit timestamps.
    /// </summary>
    private static async Task<Delivery> DeliveryLatenciesAsync(string cs, ConcurrentDictionary<long, DateTime> received)
    {
        List<double> total = [], toCommit = [], toPositioned = [], toClient = [];
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT position, created_at, committed_at, positioned_at FROM events WHERE position = ANY(@p) AND committed_at IS NOT NULL", conn);
        cmd.Parameters.AddWithValue("p", received.Keys.ToArray());
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            var at = received[r.Get<long>("position")];
            var created = r.Get<DateTime>("created_at").ToUniversalTime();
            var committed = r.Get<DateTime>("committed_at").ToUniversalTime();
            var positioned = r.Get<DateTime>("positioned_at").ToUniversalTime();
            total.Add((at - committed).TotalMilliseconds);
            toCommit.Add((committed - created).TotalMilliseconds);
            toPositioned.Add((positioned - committed).TotalMilliseconds);
            toClient.Add((at - positioned).TotalMilliseconds);
        }
        return new([.. total.Order()], [.. toCommit.Order()], [.. toPositioned.Order()], [.. toClient.Order()]);
    }

    private sealed record Delivery(double[] Total, double[] ToCommit, double[] ToPositioned, double[] ToClient);

    private static void Probe(HttpClient http, CancellationToken ct, ConcurrentQueue<string> errors, Action<long> received)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events");
            using var response = http.Send(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode) { errors.Enqueue($"probe: HTTP {(int)response.StatusCode}"); return; }
            using var stream = response.Content.ReadAsStream(ct);
            using var cancel = ct.Register(stream.Dispose); // a blocked read ends when the run does
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
                if (line.StartsWith("id: ", StringComparison.Ordinal)) received(long.Parse(line.AsSpan(4), System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (ct.IsCancellationRequested && e is IOException or ObjectDisposedException or OperationCanceledException) { }
        catch (Exception e) { errors.Enqueue($"probe: {e.GetType().Name}: {e.Message}"); }
    }

    private static async Task FollowAsync(HttpClient http, CancellationToken ct, ConcurrentQueue<string> errors, Action<long> received)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode) { errors.Enqueue($"events: HTTP {(int)response.StatusCode}"); return; }
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            while (await reader.ReadLineAsync(ct) is { } line)
                if (line.StartsWith("id: ", StringComparison.Ordinal)) received(long.Parse(line.AsSpan(4), System.Globalization.CultureInfo.InvariantCulture));
            if (!ct.IsCancellationRequested) errors.Enqueue("events: stream ended");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception e) when (!ct.IsCancellationRequested) { errors.Enqueue($"events: {e.GetType().Name}: {e.Message}"); }
    }

    private static Process StartServer(string cli, string root, string home, string cs)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = root };
        foreach (var a in new[] { cli, "server", "--urls", "http://127.0.0.1:0", "--workers", "4", "--workflows", "workflows/", "--db", cs }) psi.ArgumentList.Add(a);
        psi.Environment["PIPELINES_HOME"] = home;
        psi.Environment.Remove("MLFLOW_TRACKING_URI");
        var p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task<string> AddressAsync(Process server)
    {
        const string marker = "Pipelines server listening on ";
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (await server.StandardOutput.ReadLineAsync(cts.Token) is { } line)
            if (line.StartsWith(marker, StringComparison.Ordinal)) return line[marker.Length..].Split(' ')[0];
        throw new InvalidOperationException("the server exited before listening");
    }

    private static async Task<string> RunCliAsync(string cli, string root, string home, string cs, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = root };
        psi.ArgumentList.Add(cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PIPELINES_HOME"] = home;
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"pipelines {args[0]}: exit {p.ExitCode}: {error}");
        return output;
    }

    private static string Uptime()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }
}
