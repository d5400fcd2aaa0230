using Npgsql;

namespace Pipelines.Postgres;

/// <summary>How every Pipelines process connects: one place for the settings the engine relies on.</summary>
public static class PostgresDataSource
{
    /// <param name="loadTypes">
    /// False skips loading the database's types on each new physical connection (a catalog query): for short
    /// processes that only read columns of built-in types (the CLI's <c>runs list</c>, for one).
    /// </param>
    public static NpgsqlDataSource Create(string connectionString, bool loadTypes = true)
    {
        var csb = new NpgsqlConnectionStringBuilder(connectionString);
        // The engine runs the same few statements over and over; server-side prepared statements skip
        // parsing and planning them each time.
        if (csb.MaxAutoPrepare == 0) csb.MaxAutoPrepare = 100;
        csb.AutoPrepareMinUsages = 2;
        var builder = new NpgsqlDataSourceBuilder(csb.ConnectionString);
        if (!loadTypes) builder.ConfigureTypeLoading(t => t.EnableTypeLoading(false));
        return builder.Build();
    }
}
