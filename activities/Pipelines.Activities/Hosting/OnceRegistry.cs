using System.Collections.Concurrent;
using Pipelines.Core.Activities.State;

namespace Pipelines.Activities.Hosting;

/// <summary>
/// Once within this process only: the fallback when activities run without a database (tests of single
/// activities). Values are kept for the life of the instance.
/// </summary>
public sealed class InProcessOnceRegistry : IOnceRegistry
{
    private readonly ConcurrentDictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim[] _stripes = Enumerable.Range(0, 16).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    public async Task<string> GetOrCreateAsync(string key, Func<CancellationToken, Task<string>> create, CancellationToken ct = default)
    {
        if (_values.TryGetValue(key, out var known)) return known;
        var stripe = _stripes[(uint)StringComparer.Ordinal.GetHashCode(key) % (uint)_stripes.Length];
        await stripe.WaitAsync(ct);
        try
        {
            if (_values.TryGetValue(key, out known)) return known;
            var value = await create(ct);
            _values[key] = value;
            return value;
        }
        finally
        {
            stripe.Release();
        }
    }
}
