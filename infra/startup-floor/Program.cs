// Opens one connection to the database named by the connection string in STARTUP_FLOOR_DB (an environment variable,
// not an argument: it holds a password) and reads the schema table, as a CLI read command does first; prints nothing.
// See StartupFloor.csproj.
using Npgsql;

var builder = new NpgsqlDataSourceBuilder(Environment.GetEnvironmentVariable("STARTUP_FLOOR_DB")
    ?? throw new InvalidOperationException("set STARTUP_FLOOR_DB to a connection string"));
builder.ConfigureTypeLoading(t => t.EnableTypeLoading(false));
await using var db = builder.Build();
await using var conn = await db.OpenConnectionAsync();
await using var cmd = new NpgsqlCommand("SELECT version, checksum FROM schema_migrations", conn);
await using var reader = await cmd.ExecuteReaderAsync();
while (await reader.ReadAsync()) { }
