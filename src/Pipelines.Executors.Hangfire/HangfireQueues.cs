namespace Pipelines.Executors.Hangfire;

/// <summary>Which Hangfire queue a Pipelines queue's steps are enqueued on.</summary>
public static class HangfireQueues
{
    /// <summary>
    /// The Hangfire queue for <paramref name="queue"/>: the configured mapping when there is one, else the queue's own
    /// name. Hangfire accepts only lowercase letters, digits, '_' and '-' in a queue name; a name it would reject is an
    /// error naming the queue (Hangfire would only fail at enqueue time, step by step).
    /// </summary>
    public static string Map(string queue, IReadOnlyDictionary<string, string>? mapping)
    {
        var name = mapping is not null && mapping.TryGetValue(queue, out var mapped) ? mapped : queue;
        if (name.Length == 0 || !name.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '-'))
            throw new ArgumentException(
                $"queue '{queue}' maps to Hangfire queue '{name}', which Hangfire rejects: use lowercase letters, digits, '_' and '-' only " +
                "(map it with --hangfire-queue QUEUE=HANGFIRE_QUEUE)");
        return name;
    }

    /// <summary>Parses <c>QUEUE=HANGFIRE_QUEUE</c> pairs (the CLI's repeated option); a malformed pair is an error naming it.</summary>
    public static IReadOnlyDictionary<string, string> ParseMapping(IEnumerable<string> pairs)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0 || eq == pair.Length - 1)
                throw new ArgumentException($"--hangfire-queue '{pair}': expected QUEUE=HANGFIRE_QUEUE");
            map[pair[..eq].Trim()] = pair[(eq + 1)..].Trim();
        }
        return map;
    }

    /// <summary>The text a Hangfire job is shown by in the dashboard: it names the run and the step (and item).</summary>
    public static string DisplayName(string workflow, Guid runId, string stepId, int? itemIndex, int attempt) =>
        $"{workflow} run {runId} · step {stepId}{(itemIndex is { } i ? $"[{i}]" : "")} · attempt {attempt}";
}
