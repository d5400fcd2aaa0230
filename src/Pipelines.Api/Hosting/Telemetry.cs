using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Pipelines.Api.Hosting;

/// <summary>
/// Traces and metrics over OTLP when an endpoint is configured: every HTTP request as a span (the request that starts a
/// run carries its id as the <c>pipelines.run_id</c> tag), and gauges read from the database at each export: queue depth,
/// approvals waiting, runs by outcome, lost attempts (lease expirations).
/// </summary>
public sealed class Telemetry : IDisposable
{
    public const string Name = "Pipelines.Api";
    public ActivitySource Source { get; } = new(Name);
    public Meter Meter { get; } = new(Name);

    public Telemetry(NpgsqlDataSource db)
    {
        // Every queue a running worker serves reports, 0 when empty: a gauge that vanishes when its queue drains reads
        // as a gap on a dashboard, not as "nothing waiting".
        Meter.CreateObservableGauge("pipelines.queue.depth", () => Read(db, """
            SELECT q.queue AS label, count(s.id) AS value
            FROM (SELECT unnest(queues) AS queue FROM workers WHERE stopped_at IS NULL
                  UNION SELECT queue FROM step_runs WHERE state = 'available') q
            LEFT JOIN step_runs s ON s.queue = q.queue AND s.state = 'available'
            GROUP BY q.queue
            """, "queue"), description: "Jobs waiting for a worker");
        Meter.CreateObservableGauge("pipelines.approvals.waiting", () => Read(db,
            "SELECT 'all' AS label, count(*) AS value FROM approvals WHERE decision IS NULL", null), description: "Approvals waiting for a decision");
        Meter.CreateObservableCounter("pipelines.runs.finished", () => Read(db,
            "SELECT state AS label, count(*) AS value FROM runs WHERE finalized_at IS NOT NULL GROUP BY state", "outcome"), description: "Runs by outcome");
        Meter.CreateObservableCounter("pipelines.leases.expired", () => Read(db,
            "SELECT 'all' AS label, count(*) AS value FROM attempts WHERE state = 'lost'", null), description: "Attempts lost to an expired lease");
        Meter.CreateObservableGauge("pipelines.step.duration.p50", () => Read(db, """
            SELECT kind AS label, (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - started_at)) * 1000)::bigint AS value
            FROM attempts a JOIN step_runs s ON s.id = a.step_run_id WHERE a.ended_at > now() - interval '1 hour' GROUP BY kind
            """, "activity"), unit: "ms", description: "Median attempt duration over the last hour, by activity");
    }

    private static IEnumerable<Measurement<long>> Read(NpgsqlDataSource db, string sql, string? tag)
    {
        var list = new List<Measurement<long>>();
        try
        {
            using var conn = db.OpenConnection();
            using var cmd = new NpgsqlCommand(sql, conn);
            using var r = cmd.ExecuteReader();
            // Every query above returns (label, value); one row per label.
            var (label, value) = (r.Ordinal("label"), r.Ordinal("value"));
            while (r.Read())
                list.Add(tag is null ? new Measurement<long>(r.GetInt64(value))
                    : new Measurement<long>(r.GetInt64(value), new KeyValuePair<string, object?>(tag, r.GetString(label))));
        }
        catch (NpgsqlException)
        {
            // The database is down: no measurement this time (readiness says why).
        }
        return list;
    }

    /// <summary>Adds OTLP export of traces and metrics to the server when <paramref name="endpoint"/> is set.</summary>
    public static void Add(IServiceCollection services, string? endpoint)
    {
        if (string.IsNullOrWhiteSpace(endpoint)) return;
        // A Uri's text ends in '/' for a bare host: build the signal paths from the trimmed string instead.
        var uri = endpoint.Trim().TrimEnd('/');
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("pipelines-server"))
            .WithTracing(t => t.AddSource(Name, Pipelines.Engine.Workers.StepTracing.SourceName).AddAspNetCoreInstrumentation()
                .AddOtlpExporter(o => { o.Endpoint = new Uri(uri + "/v1/traces"); o.Protocol = OtlpExportProtocol.HttpProtobuf; }))
            .WithMetrics(m => m.AddMeter(Name).AddAspNetCoreInstrumentation()
                .AddOtlpExporter((o, reader) =>
                {
                    o.Endpoint = new Uri(uri + "/v1/metrics");
                    o.Protocol = OtlpExportProtocol.HttpProtobuf;
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 10_000;
                }));
    }

    /// <summary>
    /// For a <c>pipelines worker</c> process: its step and activity spans exported over OTLP to <paramref name="endpoint"/>
    /// (the same collector the server sends to); null, and no cost, when no endpoint is configured.
    /// </summary>
    public static IDisposable? WorkerTracing(string? endpoint)
    {
        if (string.IsNullOrWhiteSpace(endpoint)) return null;
        var uri = endpoint.Trim().TrimEnd('/');
        return OpenTelemetry.Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(r => r.AddService("pipelines-worker"))
            .AddSource(Pipelines.Engine.Workers.StepTracing.SourceName)
            .AddOtlpExporter(o => { o.Endpoint = new Uri(uri + "/v1/traces"); o.Protocol = OtlpExportProtocol.HttpProtobuf; })
            .Build();
    }

    public void Dispose()
    {
        Source.Dispose();
        Meter.Dispose();
    }
}
