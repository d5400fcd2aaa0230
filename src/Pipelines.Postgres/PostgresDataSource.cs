using Npgsql;

namespace Pipelines.Postgres;

/// <summary>How every Pipelines process connects: one place for the settings the engine relies on.</summary>
public static class PostgresDataSource
{
    public static NpgsqlDataSource Create(string connectionString)
    {
        var csb = new NpgsqlConnectionStringBuilder(connectionString);
        // The engine runs the same few statements over and over; server-side prepared statements skip
        // parsing and planning them each time.
        if (csb.MaxAutoPrepare == 0) csb.MaxAutoPrepare = 100;
        csb.AutoPrepareMinUsages = 2;
        return new NpgsqlDataSourceBuilder(csb.ConnectionString).Build();
    }
}
