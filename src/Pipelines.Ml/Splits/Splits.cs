using Pipelines.Data.Tables;

namespace Pipelines.Ml.Splits;

/// <summary>Row indices of a train/test split (each sorted ascending).</summary>
public sealed record Split(int[] Train, int[] Test)
{
    public (Table Train, Table Test) Apply(Table t) => (TableOps.Take(t, Train), TableOps.Take(t, Test));
}

/// <summary>Seeded, reproducible train/test splits. The same seed and input always give the same rows.</summary>
public static class Splitter
{
    /// <summary>A uniformly random split with round(n × testFraction) test rows.</summary>
    public static Split Random(int rows, double testFraction, int seed)
    {
        Check(testFraction);
        var order = Shuffled(rows, seed);
        var nTest = (int)Math.Round(rows * testFraction);
        return Make(order[nTest..], order[..nTest]);
    }

    /// <summary>A random split that keeps each class's share: round(count × testFraction) test rows per class.</summary>
    public static Split Stratified(IReadOnlyList<double> labels, double testFraction, int seed)
    {
        Check(testFraction);
        var rng = new Random(seed);
        var train = new List<int>();
        var test = new List<int>();
        foreach (var group in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var rows = group.ToArray();
            rng.Shuffle(rows);
            var nTest = (int)Math.Round(rows.Length * testFraction);
            test.AddRange(rows[..nTest]);
            train.AddRange(rows[nTest..]);
        }
        return Make([.. train], [.. test]);
    }

    /// <summary>Rows before <paramref name="cutoff"/> train, rows at or after it test (a column of dates or timestamps).</summary>
    public static Split TimeBased(Column time, DateTime cutoff)
    {
        var train = new List<int>();
        var test = new List<int>();
        for (var i = 0; i < time.Length; i++)
        {
            var t = time.GetValue(i) switch
            {
                DateOnly d => d.ToDateTime(TimeOnly.MinValue),
                DateTime dt => dt,
                null => throw new ArgumentException($"time column has a missing value in row {i}"),
                var v => throw new ArgumentException($"time column holds {v.GetType().Name}, expected a date or timestamp"),
            };
            (t < cutoff ? train : test).Add(i);
        }
        return Make([.. train], [.. test]);
    }

    /// <summary>The latest round(n × testFraction) rows by time are the test set (ties broken by row order).</summary>
    public static Split TimeBased(Column time, double testFraction)
    {
        Check(testFraction);
        var keys = Enumerable.Range(0, time.Length).Select(i => time.GetValue(i) switch
        {
            DateOnly d => d.ToDateTime(TimeOnly.MinValue),
            DateTime dt => dt,
            _ => throw new ArgumentException($"time column row {i} is not a date or timestamp"),
        }).ToArray();
        var order = Enumerable.Range(0, keys.Length).OrderBy(i => keys[i]).ThenBy(i => i).ToArray();
        var nTest = (int)Math.Round(keys.Length * testFraction);
        return Make(order[..(keys.Length - nTest)], order[(keys.Length - nTest)..]);
    }

    private static int[] Shuffled(int n, int seed)
    {
        var order = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }

    private static Split Make(int[] train, int[] test)
    {
        Array.Sort(train);
        Array.Sort(test);
        return new Split(train, test);
    }

    private static void Check(double f)
    {
        if (f is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(f), $"test fraction must be in (0, 1), got {f}");
    }
}
