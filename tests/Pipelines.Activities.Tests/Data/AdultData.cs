using System.Text.Json.Nodes;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;
using Pipelines.Testing;

namespace Pipelines.Activities.Tests.Data;

internal static class AdultData
{
    public static string Train => Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "data", "adult", "adult.data");
    public static string Test => Path.Combine(TestPostgres.RepositoryRoot(), "workflows", "data", "adult", "adult.test");

    public static JsonArray Nulls => ["?"];

    /// <summary>A Parquet copy of the training split with every age shifted by <paramref name="years"/>.</summary>
    public static string WriteShiftedAge(string path, int years)
    {
        var t = CsvReader.Read(Train, new CsvOptions { NullTokens = ["?"] }).Table;
        var i = t.Schema.IndexOf("age");
        var age = (PrimitiveColumn<int>)t.Columns[i];
        var shifted = age.Values.ToArray().Select(a => a + years).ToArray();
        var columns = t.Columns.ToArray();
        columns[i] = new PrimitiveColumn<int>(DataType.Int32, shifted, null, shifted.Length);
        ParquetWriter.WriteTable(path, new Table(t.Schema, columns));
        return path;
    }
}
