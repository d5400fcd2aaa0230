using Microsoft.Extensions.Logging;
using Pipelines.Core.Retries;
using Pipelines.Engine.Storage;

namespace Pipelines.Engine.Workers;

/// <summary>
/// The engine's own executor: the worker claims up to its free slots from its queues in one statement (SKIP LOCKED),
/// woken by the database's notifications and polling as a fallback; a finishing attempt claims the next one in
/// its own transaction.
/// </summary>
public sealed class NativeExecutor(IJobQueue queue) : IStepExecutor
{
    public const string ExecutorName = "native";

    // While the database is away (e.g. restarting): claims back off to 2 s.
    private static readonly ExponentialBackoff ClaimBackoff = new(TimeSpan.FromMilliseconds(200), 2, TimeSpan.FromSeconds(2), 0.2);

    public string Name => ExecutorName;
    public bool ClaimsOnCompletion => true;

    public async Task RunAsync(Worker worker, CancellationToken stoppingToken)
    {
        var options = worker.Options;
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var free = worker.FreeSlots;
            var claimedAll = false;
            if (free > 0)
            {
                try
                {
                    var jobs = await queue.ClaimAsync(options.Id, options.Queues, free, options.Lease, stoppingToken);
                    failures = 0;
                    foreach (var job in jobs) _ = worker.Start(job);
                    claimedAll = jobs.Count == free;
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
                catch (Exception e)
                {
                    // Database unreachable (e.g. restarting): back off and try again; leases protect claimed work.
                    failures++;
                    worker.Log.LogWarning("worker {WorkerId}: claim failed ({ErrorType}: {Error}); retrying", options.Id, e.GetType().Name, e.Message);
                    try { await Task.Delay(ClaimBackoff.Delay(failures, Random.Shared.NextDouble()), stoppingToken); }
                    catch (OperationCanceledException) { }
                    continue;
                }
            }
            if (claimedAll) continue;
            await worker.WaitForWorkAsync(options.PollInterval, stoppingToken);
        }
    }
}
