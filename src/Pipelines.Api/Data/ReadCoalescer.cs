namespace Pipelines.Api.Data;

/// <summary>
/// Identical reads that arrive together share one query, and no caller gets an answer older than its own arrival.
/// A caller that finds no query in flight for its key starts one; callers that arrive while a query is in flight
/// wait for the next one, which starts as soon as the current finishes — so every answer comes from a query that
/// began after the caller arrived (a commit the caller saw before asking is always in it). Under load, 200 clients
/// listing the same runs cost one query per query's duration instead of one each; alone, a caller pays one query.
/// </summary>
/// <remarks>
/// The key must hold every input of the read (two calls with equal keys must ask the same question). A shared query
/// runs without the callers' cancellation: one caller leaving must not fail the others; each caller stops waiting
/// on its own token. Idle keys are dropped, so paging cursors do not accumulate.
/// </remarks>
public class ReadCoalescer<TKey, TValue> where TKey : notnull
{
    private readonly Lock gate = new();
    private readonly Dictionary<TKey, Slot> slots = [];

    private sealed class Slot
    {
        /// <summary>Callers waiting for the query after the one in flight, and how to run it.</summary>
        public TaskCompletionSource<TValue>? Next;
        public Func<CancellationToken, Task<TValue>>? NextLoad;
    }

    /// <summary>Keys with a query in flight (for tests and diagnostics).</summary>
    public int InFlight
    {
        get { lock (gate) return slots.Count; }
    }

    public Task<TValue> ReadAsync(TKey key, Func<CancellationToken, Task<TValue>> load, CancellationToken ct)
    {
        TaskCompletionSource<TValue> answer;
        Slot slot;
        lock (gate)
        {
            if (slots.TryGetValue(key, out var running))
            {
                running.Next ??= new TaskCompletionSource<TValue>(TaskCreationOptions.RunContinuationsAsynchronously);
                running.NextLoad = load;
                return running.Next.Task.WaitAsync(ct);
            }
            slots[key] = slot = new Slot();
            answer = new TaskCompletionSource<TValue>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        // Started outside the lock: the load may complete synchronously.
        _ = RunAsync(key, slot, answer, load);
        return answer.Task.WaitAsync(ct);
    }

    private async Task RunAsync(TKey key, Slot slot, TaskCompletionSource<TValue> answer, Func<CancellationToken, Task<TValue>> load)
    {
        while (true)
        {
            try { answer.TrySetResult(await load(CancellationToken.None)); }
            catch (Exception e) { answer.TrySetException(e); }
            lock (gate)
            {
                if (slot.Next is null)
                {
                    slots.Remove(key);
                    return;
                }
                (answer, load) = (slot.Next, slot.NextLoad!);
                (slot.Next, slot.NextLoad) = (null, null);
            }
        }
    }
}
