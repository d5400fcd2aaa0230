using Hangfire.PostgreSql;
using Npgsql;

namespace Pipelines.Executors.Hangfire;

/// <summary>Hangfire's storage in the engine's own PostgreSQL database, on the engine's data source (and so our Npgsql).</summary>
public static class HangfireStorage
{
    public static PostgreSqlStorage Create(NpgsqlDataSource db, HangfireExecutorOptions options)
    {
        ValidateSchema(options.Schema);
        return new PostgreSqlStorage(new DataSourceConnections(db), new PostgreSqlStorageOptions
        {
            SchemaName = options.Schema,
            PrepareSchemaIfNecessary = true,
            // A live server keeps its fetched job invisible for as long as it runs; only a dead server's job reappears.
            UseSlidingInvisibilityTimeout = true,
            InvisibilityTimeout = options.InvisibilityTimeout,
            // LISTEN/NOTIFY wakes a waiting server as soon as a job is enqueued; the poll is the fallback.
            EnableLongPolling = true,
            QueuePollInterval = options.QueuePollInterval,
        });
    }

    public static void ValidateSchema(string schema)
    {
        if (schema.Length == 0 || !schema.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_') || char.IsDigit(schema[0]))
            throw new ArgumentException($"Hangfire schema '{schema}': use lowercase letters, digits and '_' (not first)");
    }

    private sealed class DataSourceConnections(NpgsqlDataSource db) : IConnectionFactory
    {
        public NpgsqlConnection GetOrCreateConnection() => db.OpenConnection();
    }
}
