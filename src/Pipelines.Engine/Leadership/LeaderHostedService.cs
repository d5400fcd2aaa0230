using Microsoft.Extensions.Logging;
using Pipelines.Engine.Workers;

namespace Pipelines.Engine.Leadership;

/// <summary>
/// A process's leader candidate as a hosted service: when elected it rescues expired leases, promotes due retries,
/// fires schedules and triggers, and runs the host's sweeps. Started and stopped apart from the worker, so a host can
/// run either alone.
/// </summary>
public sealed class LeaderHostedService(Func<CancellationToken, Task<Task>> start, ILogger<LeaderHostedService>? log = null)
    : DrainingHostedService(start, "leader candidate", log);
