using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Pipelines.Server.Tests;

/// <summary>The append-only audit of mutations, and secrets never showing up in logs, responses or audit rows.</summary>
public class AuditAndSecretsTests
{
    [Test]
    public async Task EveryMutation_IsAudited_WithWhoWhatTargetClientAndOutcome_AppendOnly()
    {
        await using var server = await ServerHarness.StartAsync();
        await server.CreateWorkflowAsync(Workflows.Hello, admin: "root");
        using (var viewer = server.As("vera", "viewer"))
        using (var refused = await viewer.PostAsJsonAsync("/api/v1/runs", new { workflow = "hello" }))
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using (var anonymous = server.Client())
        using (var unauthenticated = await anonymous.DeleteAsync("/api/v1/workflows/hello"))
            Assert.That(unauthenticated.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        var runId = await server.StartRunAsync("hello", "olga");

        using var admin = server.As("root", "admin");
        using (var forbidden = await server.As("olga", "operator").GetAsync("/api/v1/audit"))
            Assert.That(forbidden.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "the audit is for admins");
        var audit = await server.GetJsonAsync(admin, "/api/v1/audit?limit=10");
        var rows = audit["items"]!.AsArray().Select(r => (
            User: r!["user"]!.GetValue<string>(), Action: r["action"]!.GetValue<string>(), Target: r["target"]!.GetValue<string>(),
            Client: r["clientAddress"]!.GetValue<string>(), Outcome: r["outcome"]!.GetValue<int>())).Reverse().ToList();
        Assert.That(rows, Is.EqualTo(new[]
        {
            ("root", "POST /api/v1/workflows", "/api/v1/workflows", "127.0.0.1", 201),
            ("vera", "POST /api/v1/runs", "/api/v1/runs", "127.0.0.1", 403),
            ("anonymous", "DELETE /api/v1/workflows/{name}", "/api/v1/workflows/hello", "127.0.0.1", 401),
            ("olga", "POST /api/v1/runs", "/api/v1/runs", "127.0.0.1", 201),
        }));
        Assert.That(audit["items"]![0]!["at"], Is.Not.Null);
        Assert.That(runId, Is.Not.EqualTo(Guid.Empty));

        // Paging goes back in time.
        var page = await server.GetJsonAsync(admin, "/api/v1/audit?limit=2");
        var older = await server.GetJsonAsync(admin, $"/api/v1/audit?limit=2&cursor={page["nextCursor"]!.GetValue<string>()}");
        Assert.That(older["items"]![1]!["user"]!.GetValue<string>(), Is.EqualTo("root"));

        // The database itself refuses to change or remove audit rows.
        var update = Assert.ThrowsAsync<PostgresException>(() => server.Database.ExecAsync("UPDATE audit_log SET user_name = 'someone-else'"));
        Assert.That(update!.MessageText, Does.Contain("append-only"));
        Assert.ThrowsAsync<PostgresException>(() => server.Database.ExecAsync("DELETE FROM audit_log"));
        Assert.ThrowsAsync<PostgresException>(() => server.Database.ExecAsync("TRUNCATE audit_log"));
    }

    [Test]
    public async Task Secrets_NeverAppearInLogsResponsesOrAuditRows()
    {
        await using var server = await ServerHarness.StartAsync();
        var responses = new List<string>();
        async Task<string> Keep(HttpResponseMessage r)
        {
            var text = string.Join("\n", r.Headers.Select(h => $"{h.Key}: {string.Join(",", h.Value)}")) + "\n" + await r.Content.ReadAsStringAsync();
            responses.Add(text);
            r.Dispose();
            return text;
        }

        var token = server.Token("root", ["admin"]);
        using var admin = server.Client(token);
        string key;
        using (var created = await admin.PostAsJsonAsync("/api/v1/keys", new { name = "ci", roles = new[] { "admin" } }))
            key = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["key"]!.GetValue<string>(); // the one response that shows it, once

        using var withKey = server.Client(key);
        await Keep(await withKey.GetAsync("/api/v1/session"));
        await Keep(await withKey.GetAsync("/api/v1/keys"));
        await Keep(await withKey.PostAsJsonAsync("/api/v1/workflows", new { yaml = Workflows.Hello }));
        // A login: the cookie's token is a secret too.
        var cookies = new CookieContainer();
        using var browser = server.Client(handler: new HttpClientHandler { CookieContainer = cookies });
        using (var login = await browser.PostAsJsonAsync("/api/v1/session", new { apiKey = key }))
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var sessionToken = cookies.GetCookies(server.BaseAddress)["pipelines_session"]!.Value;
        await Keep(await browser.GetAsync("/api/v1/session"));
        // Failures: a wrong key, a tampered token. (The API never takes a secret in a URL: request lines are logged.)
        using (var wrong = server.Client(key[..^4] + "AAAA")) await Keep(await wrong.GetAsync("/api/v1/runs"));
        using (var tampered = server.Client(token[..^6] + "AAAAAA")) await Keep(await tampered.GetAsync("/api/v1/runs"));
        await Keep(await admin.GetAsync("/api/v1/keys"));
        await Keep(await admin.GetAsync("/api/v1/audit"));
        await Keep(await admin.GetAsync("/readyz"));

        var password = new NpgsqlConnectionStringBuilder(server.Database.ConnectionString).Password!;
        var secrets = new Dictionary<string, string>
        {
            ["API key"] = key,
            ["API key secret part"] = key[3..],
            ["JWT"] = token,
            ["JWT signature"] = token[(token.LastIndexOf('.') + 1)..],
            ["signing key"] = server.SigningKey,
            ["session token"] = sessionToken,
            ["database password"] = password,
            ["connection string"] = server.Database.ConnectionString,
        };
        var auditRows = await server.Database.ScalarAsync<string>("SELECT coalesce(string_agg(t::text, '\n'), '') FROM audit_log t");
        var logs = string.Join("\n", server.Logs);
        Assert.That(logs, Does.Contain("Request"), "logging was captured (at trace level)");
        foreach (var (what, secret) in secrets)
        {
            Assert.That(logs, Does.Not.Contain(secret), $"{what} in the logs");
            Assert.That(auditRows, Does.Not.Contain(secret), $"{what} in the audit rows");
            foreach (var r in responses) Assert.That(r, Does.Not.Contain(secret), $"{what} in a response");
        }
    }
}
