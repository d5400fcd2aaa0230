namespace Pipelines.Api.Data;

public sealed record ApiKeyInfo(Guid Id, string Name, IReadOnlyList<string> Roles, string CreatedBy, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string? RevokedBy, DateTimeOffset? LastUsedAt);

/// <summary>An API-key request's checks: the address's throttle (when blocked) and the valid key, if any.</summary>
public sealed record KeyCheck(DateTimeOffset? ThrottledUntil, ApiKeyInfo? Key);

public sealed record Session(string User, IReadOnlyList<Role> Roles, string CsrfToken, DateTimeOffset ExpiresAt);

/// <summary>API keys and browser sessions. Secrets are compared by their SHA-256 only.</summary>
public sealed class KeyStore(NpgsqlDataSource db, TimeProvider time)
{
    private readonly ReadCoalescer<(string? Client, string Hash), KeyCheck> checks = new();
    private DateTimeOffset Now => time.GetUtcNow();

    /// <summary>Creates a key and returns it with its secret; the secret is not stored and cannot be shown again.</summary>
    public async Task<(ApiKeyInfo Info, string Key)> CreateAsync(string name, IReadOnlyList<Role> roles, DateTimeOffset? expiresAt, string createdBy, CancellationToken ct)
    {
        var key = ApiKeyFormat.NewKey();
        var id = Guid.NewGuid();
        var now = Now;
        await Sql.ExecAsync(db, """
            INSERT INTO api_keys (id, name, hash, roles, created_by, created_at, expires_at)
            VALUES (@id, @name, @hash, @roles, @by, @now, @exp)
            """, ct, Sql.Uuid("id", id), Sql.Text("name", name), new NpgsqlParameter("hash", ApiKeyFormat.Hash(key)),
            new NpgsqlParameter("roles", roles.Select(r => r.Name()).ToArray()), Sql.Text("by", createdBy), Sql.Time("now", now), Sql.Time("exp", expiresAt));
        return (new ApiKeyInfo(id, name, [.. roles.Select(r => r.Name())], createdBy, now, expiresAt, null, null, null), key);
    }

    /// <summary>The key's owner and roles when the key exists, is not revoked and has not expired; else null.</summary>
    public async Task<ApiKeyInfo?> VerifyAsync(string key, CancellationToken ct) => (await CheckKeyAsync(null, key, ct)).Key;

    /// <summary>
    /// What an API-key request needs, read in one round trip: whether the client's address is throttled and the key
    /// (null when unknown, revoked or expired). A throttled caller is refused before its key counts as used; otherwise
    /// the use is written back at most once per <see cref="ApiKeyUse.Resolution"/>, so a busy key costs no write per request.
    /// </summary>
    public Task<KeyCheck> CheckKeyAsync(string? client, string key, CancellationToken ct)
    {
        var hash = ApiKeyFormat.Hash(key);
        // Requests from one address with one key (a script, a CI job, a dashboard's tabs) share the check in flight.
        return checks.ReadAsync((client, Convert.ToHexString(hash)), shared => CheckHashAsync(client, hash, shared), ct);
    }

    private async Task<KeyCheck> CheckHashAsync(string? client, byte[] hash, CancellationToken ct)
    {
        var now = Now;
        var rows = await Sql.ListAsync(db, """
            SELECT f.failures, f.last_at,
                   k.id, k.name, k.roles, k.created_by, k.created_at, k.expires_at, k.revoked_at, k.revoked_by, k.last_used_at
            FROM (SELECT 1) AS one
            LEFT JOIN login_failures f ON f.client = @client
            LEFT JOIN api_keys k ON k.hash = @hash AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > @now)
            """, r => (Throttle: r.IntOrNull("failures") is { } n ? (n, r.TimeAt("last_at")) : ((int, DateTimeOffset)?)null,
                Key: r.GetOrDefault<Guid?>("id") is null ? null : Read(r)),
            ct, Sql.Text("client", client), new NpgsqlParameter("hash", hash), Sql.Time("now", now));
        var (throttle, info) = rows.Single();
        if (throttle is var (failures, lastAt) && LoginThrottle.BlockedUntil(failures, lastAt, now) is { } until)
            return new KeyCheck(until, null);
        if (info is not null && ApiKeyUse.ShouldRecord(info.LastUsedAt, now))
        {
            // Guarded so that concurrent first uses within the same minute write once.
            await Sql.ExecAsync(db, """
                UPDATE api_keys SET last_used_at = @now
                WHERE id = @id AND (last_used_at IS NULL OR last_used_at <= @now - @resolution)
                """, ct, Sql.Uuid("id", info.Id), Sql.Time("now", now), new NpgsqlParameter("resolution", ApiKeyUse.Resolution));
            info = info with { LastUsedAt = now };
        }
        return new KeyCheck(null, info);
    }

    public Task<List<ApiKeyInfo>> ListAsync(CancellationToken ct) => Sql.ListAsync(db,
        "SELECT id, name, roles, created_by, created_at, expires_at, revoked_at, revoked_by, last_used_at FROM api_keys ORDER BY created_at DESC, id",
        Read, ct);

    /// <summary>False when there is no such key or it was already revoked.</summary>
    public async Task<bool> RevokeAsync(Guid id, string by, CancellationToken ct) =>
        await Sql.ExecAsync(db, "UPDATE api_keys SET revoked_at = @now, revoked_by = @by WHERE id = @id AND revoked_at IS NULL", ct,
            Sql.Uuid("id", id), Sql.Text("by", by), Sql.Time("now", Now)) == 1;

    public async Task<bool> ExistsAsync(Guid id, CancellationToken ct) =>
        (await Sql.ListAsync(db, "SELECT 1 FROM api_keys WHERE id = @id", _ => 1, ct, Sql.Uuid("id", id))).Count == 1;

    private static ApiKeyInfo Read(NpgsqlDataReader r) => new(r.Get<Guid>("id"), r.Get<string>("name"), r.Get<string[]>("roles"),
        r.Get<string>("created_by"), r.TimeAt("created_at"), r.TimeOrNull("expires_at"), r.TimeOrNull("revoked_at"), r.StringOrNull("revoked_by"),
        r.TimeOrNull("last_used_at"));

    /// <summary>Starts a browser session; returns the cookie token (kept only as a hash).</summary>
    public async Task<(string Token, Session Session)> StartSessionAsync(string user, IReadOnlyList<Role> roles, TimeSpan lifetime, CancellationToken ct)
    {
        var token = ApiKeyFormat.NewToken();
        var session = new Session(user, roles, ApiKeyFormat.NewToken(), Now + lifetime);
        await Sql.ExecAsync(db, """
            DELETE FROM api_sessions WHERE expires_at < @now;
            INSERT INTO api_sessions (hash, user_name, roles, csrf_token, created_at, expires_at) VALUES (@hash, @user, @roles, @csrf, @now, @exp)
            """, ct, new NpgsqlParameter("hash", ApiKeyFormat.Hash(token)), Sql.Text("user", user),
            new NpgsqlParameter("roles", roles.Select(r => r.Name()).ToArray()), Sql.Text("csrf", session.CsrfToken), Sql.Time("now", Now),
            Sql.Time("exp", session.ExpiresAt));
        return (token, session);
    }

    public async Task<Session?> FindSessionAsync(string token, CancellationToken ct)
    {
        var rows = await Sql.ListAsync(db, "SELECT user_name, roles, csrf_token, expires_at FROM api_sessions WHERE hash = @hash AND expires_at > @now",
            r => new Session(r.Get<string>("user_name"),
                [.. r.Get<string[]>("roles").Select(n => Roles.TryParse(n, out var x) ? (Role?)x : null).OfType<Role>()],
                r.Get<string>("csrf_token"), r.TimeAt("expires_at")), ct, new NpgsqlParameter("hash", ApiKeyFormat.Hash(token)), Sql.Time("now", Now));
        return rows.SingleOrDefault();
    }

    public Task EndSessionAsync(string token, CancellationToken ct) =>
        Sql.ExecAsync(db, "DELETE FROM api_sessions WHERE hash = @hash", ct, new NpgsqlParameter("hash", ApiKeyFormat.Hash(token)));

    /// <summary>Until when this client must wait before trying to log in again, or null.</summary>
    public async Task<DateTimeOffset?> ThrottledUntilAsync(string client, CancellationToken ct)
    {
        var rows = await Sql.ListAsync(db, "SELECT failures, last_at FROM login_failures WHERE client = @c", r => (r.Get<int>("failures"), r.TimeAt("last_at")), ct, Sql.Text("c", client));
        return rows.Count == 0 ? null : LoginThrottle.BlockedUntil(rows[0].Item1, rows[0].Item2, Now);
    }

    public Task RecordFailureAsync(string client, CancellationToken ct) => Sql.ExecAsync(db, """
        INSERT INTO login_failures (client, failures, last_at) VALUES (@c, 1, @now)
        ON CONFLICT (client) DO UPDATE
        SET failures = CASE WHEN login_failures.last_at < @now - @window THEN 1 ELSE login_failures.failures + 1 END, last_at = @now
        """, ct, Sql.Text("c", client), Sql.Time("now", Now), new NpgsqlParameter("window", LoginThrottle.Window));

    public Task ClearFailuresAsync(string client, CancellationToken ct) =>
        Sql.ExecAsync(db, "DELETE FROM login_failures WHERE client = @c", ct, Sql.Text("c", client));
}
