using Npgsql;
using Pipelines.Engine.Storage;

namespace Pipelines.Postgres.Engine;

/// <summary>
/// Leadership is a session advisory lock held on one dedicated connection: it is released by PostgreSQL
/// the moment that connection (or its process) dies, so a crashed leader is replaced on the next tick.
/// </summary>
public sealed class PostgresLeaderElection(NpgsqlDataSource db) : ILeaderElection
{
    private const long LockKey = 0x5049_5045_4C45_4144; // "PIPELEAD"
    private NpgsqlConnection? _conn;
    private bool _held;

    public async Task<bool> TryLeadAsync(CancellationToken ct = default)
    {
        try
        {
            if (_conn is null || _conn.FullState != System.Data.ConnectionState.Open)
            {
                await DropAsync();
                _conn = await db.OpenConnectionAsync(ct);
            }
            if (_held)
            {
                // Still connected means still holding the lock; a cheap round trip proves the connection lives.
                await using var ping = new NpgsqlCommand("SELECT 1", _conn);
                await ping.ExecuteScalarAsync(ct);
                return true;
            }
            await using var cmd = new NpgsqlCommand($"SELECT pg_try_advisory_lock({LockKey})", _conn);
            _held = (bool)(await cmd.ExecuteScalarAsync(ct))!;
            return _held;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or System.IO.IOException)
        {
            await DropAsync();
            return false;
        }
    }

    private async Task DropAsync()
    {
        var held = _held;
        _held = false;
        if (_conn is not null)
        {
            // A disposed connection goes back to the pool with its session, and a session lock with it: release the
            // lock first, so another leader can take over now rather than when the pool drops the connection.
            if (held && _conn.FullState == System.Data.ConnectionState.Open)
            {
                try
                {
                    await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockKey})", _conn);
                    await unlock.ExecuteScalarAsync();
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException or System.IO.IOException) { /* broken: the pool discards it */ }
            }
            try { await _conn.DisposeAsync(); } catch (Exception) { /* the connection is already broken */ }
            _conn = null;
        }
    }

    public ValueTask DisposeAsync() => new(DropAsync());
}
