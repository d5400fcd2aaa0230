using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Tables;

public class TableTests
{
    private static Table Sample()
    {
        var ids = new PrimitiveBuilder<int>(DataType.Int32);
        var names = new BinaryBuilder(DataType.String);
        for (var i = 0; i < 10; i++)
        {
            ids.Append(i);
            if (i % 3 == 0) names.AppendNull(); else names.Append($"n{i}");
        }
        return new Table(new Schema([new Field("id", DataType.Int32), new Field("name", DataType.String)]), [ids.Build(), names.Build()]);
    }

    [Test]
    public void Slice_SharesBuffers_AndKeepsValidityAligned()
    {
        var t = Sample().Slice(2, 5);
        Assert.That(t.RowCount, Is.EqualTo(5));
        Assert.That(((PrimitiveColumn<int>)t["id"]).Values.ToArray(), Is.EqualTo(new[] { 2, 3, 4, 5, 6 }));
        Assert.That(Enumerable.Range(0, 5).Select(i => t["name"].GetValue(i)), Is.EqualTo(new object?[] { "n2", null, "n4", "n5", null }));
        Assert.That(t["name"].NullCount, Is.EqualTo(2));
        var inner = t.Slice(1, 2);
        Assert.That(inner["name"].GetValue(1), Is.EqualTo("n4"));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Slice(4, 2));
    }

    [Test]
    public void Batches_CoverAllRowsInOrder()
    {
        var batches = Sample().Batches(4).ToList();
        Assert.That(batches.Select(b => b.RowCount), Is.EqualTo(new[] { 4, 4, 2 }));
        var concat = Table.Concat(batches[0].Schema, batches);
        Assert.That(Enumerable.Range(0, 10).Select(i => concat["name"].Format(i)), Is.EqualTo(Enumerable.Range(0, 10).Select(i => Sample()["name"].Format(i))));
    }

    [Test]
    public void Table_RejectsColumnsOfDifferentLengthOrType()
    {
        var a = new PrimitiveBuilder<int>(DataType.Int32); a.Append(1);
        var b = new PrimitiveBuilder<int>(DataType.Int32);
        Assert.Throws<ArgumentException>(() => new Table(new Schema([new Field("a", DataType.Int32), new Field("b", DataType.Int32)]), [a.Build(), b.Build()]));
        Assert.Throws<ArgumentException>(() => new Table(new Schema([new Field("a", DataType.Int64)]), [a.Build()]));
        Assert.Throws<ArgumentException>(() => new Schema([new Field("a", DataType.Int64), new Field("a", DataType.Int32)]));
    }

    [TestCase("12345", 2, "123.45")]
    [TestCase("-5", 3, "-0.005")]
    [TestCase("-170141183460469231731687303715884105728", 0, "-170141183460469231731687303715884105728")]
    [TestCase("99999999999999999999999999999999999999", 10, "9999999999999999999999999999.9999999999")]
    public void DecimalValue_FormatsWithScale(string unscaled, int scale, string expected) =>
        Assert.That(new DecimalValue(Int128.Parse(unscaled), scale).ToString(), Is.EqualTo(expected));
}
