using NUnit.Framework;
using Pipelines.Activities.Monitoring;

namespace Pipelines.Activities.Tests.Monitoring;

/// <summary>The delayed-label join as a pure function: late, missing, duplicated and conflicting labels, worked by hand.</summary>
public sealed class LabelJoinTests
{
    private static readonly IReadOnlyList<ScoredRow> Scored =
    [
        new("a", "b1", 0.9, ["x"]), new("b", "b1", 0.8, ["y"]), new("c", "b1", 0.7, ["x"]), new("d", "b1", 0.1, ["y"]),
    ];

    private static double? Binary(string label) => label == "1" ? 1 : 0;

    private static JoinResult Join(IEnumerable<(string Key, string Value)> labels, DuplicateLabels duplicates = DuplicateLabels.Last) =>
        LabelJoin.Join(Scored, ["s"], labels.Select((l, i) => new ArrivedLabel(l.Key, l.Value, i)), Binary, binary: true, 0.5, duplicates);

    [Test]
    public void LateLabels_CoverMoreOfTheBatchAsTheyArrive()
    {
        var first = Join([("a", "1"), ("b", "0")]);
        var all = first.Slices.Single(s => s.Slice == "all");
        Assert.That((all.Predictions, all.Labelled, first.MissingLabels), Is.EqualTo((4L, 2L, 2L)));
        Assert.That(all.Metrics["coverage"], Is.EqualTo(0.5));
        Assert.That(all.Metrics["accuracy"], Is.EqualTo(0.5), "b scored 0.8 but is negative");

        // Later the rest arrive: y = 1,0,1,0 for scores 0.9,0.8,0.7,0.1; AUC counts positive-above-negative pairs:
        // (0.9>0.8, 0.9>0.1, 0.7<0.8, 0.7>0.1) = 3 of 4.
        var later = Join([("a", "1"), ("b", "0"), ("c", "1"), ("d", "0")]);
        var full = later.Slices.Single(s => s.Slice == "all");
        Assert.That((full.Labelled, later.MissingLabels), Is.EqualTo((4L, 0L)));
        Assert.That(full.Metrics["roc_auc"], Is.EqualTo(0.75).Within(1e-12));
        Assert.That(full.Metrics["accuracy"], Is.EqualTo(0.75));
        Assert.That(later.Slices.Select(s => s.Slice), Is.EqualTo(new[] { "all", "s=x", "s=y" }));
        Assert.That(later.Slices.Single(s => s.Slice == "s=x").Metrics["accuracy"], Is.EqualTo(1));
        Assert.That(later.Slices.Single(s => s.Slice == "s=y").Metrics["accuracy"], Is.EqualTo(0.5));
    }

    [Test]
    public void DuplicatedLabels_RepeatsCountOnce_ConflictsTakeTheLaterArrival_OrFail()
    {
        var repeated = Join([("a", "1"), ("a", "1"), ("b", "0")]);
        Assert.That((repeated.DuplicateLabels, repeated.ConflictingLabels), Is.EqualTo((1L, 0L)));
        Assert.That(repeated.Slices[0].Labelled, Is.EqualTo(2));

        var corrected = Join([("b", "1"), ("b", "0")]);
        Assert.That((corrected.DuplicateLabels, corrected.ConflictingLabels), Is.EqualTo((1L, 1L)));
        Assert.That(corrected.Rows.Single(r => r.Scored.Key == "b").Label, Is.EqualTo("0"));
        Assert.That(corrected.Conflicts.Single(), Is.EqualTo("key 'b': '1' replaced by later '0'"));

        var e = Assert.Throws<LabelJoinException>(() => Join([("b", "1"), ("b", "0")], DuplicateLabels.Error))!;
        Assert.That(e.Message, Is.EqualTo("key 'b' is labelled '1' and later '0' (duplicates: error)"));
    }

    [Test]
    public void MissingAndUnmatchedLabels_AndDuplicateKeysInABatch()
    {
        var result = Join([("zz", "1")]);
        Assert.That((result.UnmatchedLabels, result.MissingLabels), Is.EqualTo((1L, 4L)));
        Assert.That(result.Slices[0].Metrics.Keys, Is.EqualTo(new[] { "coverage" }), "no metrics without labels");

        var e = Assert.Throws<LabelJoinException>(() => LabelJoin.Join([new("a", "b1", 0.1, []), new("a", "b1", 0.2, [])], [], [], Binary, true, 0.5, DuplicateLabels.Last))!;
        Assert.That(e.Message, Does.Contain("key 'a' is scored twice in batch 'b1'"));
        // The same key in two batches is two predictions, each joined to the label.
        var twice = LabelJoin.Join([new("a", "b1", 0.9, []), new("a", "b2", 0.2, [])], [], [new("a", "1", 0)], Binary, true, 0.5, DuplicateLabels.Last);
        Assert.That(twice.Slices.Select(s => (s.Batch, s.Metrics["accuracy"])), Is.EqualTo(new[] { ("b1", 1.0), ("b2", 0.0) }));
    }
}
