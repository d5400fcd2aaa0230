using Pipelines.Api.Data;

namespace Pipelines.Server.Tests;

/// <summary>
/// The rule that lets the run list and the API-key check share queries without serving stale answers: callers that
/// arrive while a query is in flight share the next one, never the one that began before them.
/// </summary>
public class ReadCoalescerTests
{
    private sealed class Loads
    {
        public readonly List<TaskCompletionSource<int>> Started = [];
        public Task<int> Load(CancellationToken _)
        {
            var tcs = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (Started) Started.Add(tcs);
            return tcs.Task;
        }
        public int Count { get { lock (Started) return Started.Count; } }
        public TaskCompletionSource<int> this[int i] { get { lock (Started) return Started[i]; } }
    }

    [Test]
    public async Task CallersArrivingDuringAQuery_ShareTheNextQuery_NotTheOneInFlight()
    {
        var c = new ReadCoalescer<string, int>();
        var loads = new Loads();
        var first = c.ReadAsync("runs", loads.Load, CancellationToken.None);
        Assert.That(loads.Count, Is.EqualTo(1), "a lone caller starts its query at once");

        // Three callers arrive while the first query runs: a commit they saw may be missing from it.
        var later = Enumerable.Range(0, 3).Select(_ => c.ReadAsync("runs", loads.Load, CancellationToken.None)).ToList();
        Assert.That(loads.Count, Is.EqualTo(1), "no second query while the first is in flight");

        loads[0].SetResult(1);
        Assert.That(await first, Is.EqualTo(1));
        await WaitUntil(() => loads.Count == 2);
        Assert.That(later.Any(t => t.IsCompleted), Is.False, "the later callers must not get the answer of a query older than them");

        loads[1].SetResult(2);
        Assert.That(await Task.WhenAll(later), Is.All.EqualTo(2));
        Assert.That(loads.Count, Is.EqualTo(2), "three callers, one shared query");
        Assert.That(c.InFlight, Is.Zero, "idle keys are dropped");
    }

    [Test]
    public async Task DifferentKeys_DoNotShare_AndAFailureReachesOnlyItsCallers()
    {
        var c = new ReadCoalescer<string, int>();
        var loads = new Loads();
        var a = c.ReadAsync("a", loads.Load, CancellationToken.None);
        var b = c.ReadAsync("b", loads.Load, CancellationToken.None);
        Assert.That(loads.Count, Is.EqualTo(2));
        loads[0].SetException(new InvalidOperationException("database down"));
        loads[1].SetResult(7);
        Assert.ThrowsAsync<InvalidOperationException>(async () => await a);
        Assert.That(await b, Is.EqualTo(7));

        // After a failure the key works again.
        var again = c.ReadAsync("a", loads.Load, CancellationToken.None);
        await WaitUntil(() => loads.Count == 3);
        loads[2].SetResult(3);
        Assert.That(await again, Is.EqualTo(3));
    }

    [Test]
    public async Task ACallerThatGivesUp_DoesNotCancelTheSharedQuery()
    {
        var c = new ReadCoalescer<string, int>();
        var loads = new Loads();
        var first = c.ReadAsync("runs", loads.Load, CancellationToken.None);
        using var leaving = new CancellationTokenSource();
        var quitter = c.ReadAsync("runs", loads.Load, leaving.Token);
        var stayer = c.ReadAsync("runs", loads.Load, CancellationToken.None);
        leaving.Cancel();
        Assert.ThrowsAsync<TaskCanceledException>(async () => await quitter);

        loads[0].SetResult(1);
        await first;
        await WaitUntil(() => loads.Count == 2);
        loads[1].SetResult(2);
        Assert.That(await stayer, Is.EqualTo(2));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition()) await Task.Delay(5, timeout.Token);
    }
}
