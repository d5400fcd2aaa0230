using Pipelines.Data.Csv;
using Pipelines.Data.Tables;

namespace Pipelines.Quality.Tests;

/// <summary>The UCI Adult data (CC BY 4.0) from shared/datasets/adult beside the repository.</summary>
internal static class Adult
{
    private static readonly Lazy<Table> TrainTable = new(() => Load("adult.data"));
    private static readonly Lazy<Table> TestTable = new(() => Load("adult.test"));

    public static Table Train => TrainTable.Value;
    public static Table Test => TestTable.Value;

    private static Table Load(string file)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipelines.sln"))) dir = dir.Parent;
        var path = Path.Combine(dir!.FullName, "..", "shared", "datasets", "adult", file);
        return CsvReader.Read(path, new CsvOptions { NullTokens = ["?"] }).Table;
    }

    /// <summary>The table with every age shifted, as a drifted copy of the data would be.</summary>
    public static Table WithAgeShifted(Table t, int by)
    {
        var age = (PrimitiveColumn<int>)t["age"];
        var shifted = new PrimitiveBuilder<int>(DataType.Int32, t.RowCount);
        for (var i = 0; i < age.Length; i++) shifted.Append(age[i] + by);
        var index = t.Schema.IndexOf("age");
        return new Table(t.Schema, t.Columns.Select((c, i) => i == index ? shifted.Build() : c).ToArray());
    }
}
