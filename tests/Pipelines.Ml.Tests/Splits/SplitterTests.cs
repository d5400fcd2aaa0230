using Pipelines.Data.Tables;
using Pipelines.Ml.Splits;

namespace Pipelines.Ml.Tests.Splits;

public class SplitterTests
{
    [Test]
    public void Random_IsSeeded_Disjoint_AndComplete()
    {
        var a = Splitter.Random(1000, 0.2, seed: 5);
        var b = Splitter.Random(1000, 0.2, seed: 5);
        var c = Splitter.Random(1000, 0.2, seed: 6);
        Assert.That(a.Test, Is.EqualTo(b.Test));
        Assert.That(c.Test, Is.Not.EqualTo(a.Test));
        Assert.That(a.Test, Has.Length.EqualTo(200));
        Assert.That(a.Train.Concat(a.Test).OrderBy(i => i), Is.EqualTo(Enumerable.Range(0, 1000)));
    }

    [Test]
    public void Stratified_KeepsTheClassShare_OnAdult()
    {
        var labels = TestData.AdultPipeline().Fit(TestData.AdultTrain).Labels(TestData.AdultTrain);
        var s = Splitter.Stratified(labels, 0.25, seed: 1);
        var share = labels.Average();
        Assert.That(s.Test.Average(i => labels[i]), Is.EqualTo(share).Within(1e-3));
        Assert.That(s.Train.Average(i => labels[i]), Is.EqualTo(share).Within(1e-3));
        Assert.That(Splitter.Stratified(labels, 0.25, seed: 1).Test, Is.EqualTo(s.Test));
        Assert.That(s.Train.Intersect(s.Test), Is.Empty);
    }

    [Test]
    public void TimeBased_PutsTheLatestRowsInTest()
    {
        int[] days = [30, 10, 20, 50, 40];
        var col = new PrimitiveColumn<int>(DataType.Date, days, null, 5);
        var s = Splitter.TimeBased(col, 0.4);
        Assert.That(s.Test, Is.EqualTo(new[] { 3, 4 }));
        var byCutoff = Splitter.TimeBased(col, new DateTime(1970, 1, 25));
        Assert.That(byCutoff.Train, Is.EqualTo(new[] { 1, 2 }));
        var (train, test) = s.Apply(new Table(new Schema([new Field("d", DataType.Date)]), [col]));
        Assert.That((train.RowCount, test.RowCount), Is.EqualTo((3, 2)));
    }
}
