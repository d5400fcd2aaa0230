namespace Pipelines.Api.Data;

public sealed record AuditEntry(long Id, DateTimeOffset At, string User, string Action, string Target, string? ClientAddress, int Outcome);

/// <summary>The append-only audit log (the database refuses updates and deletes of its rows).</summary>
public sealed class AuditStore(NpgsqlDataSource db, TimeProvider time)
{
    public Task AppendAsync(string user, string action, string target, string? client, int outcome, CancellationToken ct) =>
        Sql.ExecAsync(db, """
            INSERT INTO audit_log (at, user_name, action, target, client_address, outcome) VALUES (@at, @user, @action, @target, @client, @outcome)
            """, ct, Sql.Time("at", time.GetUtcNow()), Sql.Text("user", user), Sql.Text("action", action), Sql.Text("target", target),
            Sql.Text("client", client), new NpgsqlParameter("outcome", outcome));

    /// <summary>Newest first; <paramref name="before"/> is the id of the last entry of the previous page.</summary>
    public Task<List<AuditEntry>> ListAsync(int limit, long? before, CancellationToken ct) => Sql.ListAsync(db, """
        SELECT id, at, user_name, action, target, client_address, outcome FROM audit_log
        WHERE (@before::bigint IS NULL OR id < @before) ORDER BY id DESC LIMIT @limit
        """, r => new AuditEntry(r.Get<long>("id"), r.TimeAt("at"), r.Get<string>("user_name"), r.Get<string>("action"), r.Get<string>("target"),
            r.StringOrNull("client_address"), r.Get<int>("outcome")),
        ct, Sql.Long("before", before), new NpgsqlParameter("limit", limit));
}
