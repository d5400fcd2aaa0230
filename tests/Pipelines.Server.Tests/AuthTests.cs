using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Pipelines.Api.Hosting;

namespace Pipelines.Server.Tests;

/// <summary>Tokens, API keys, cookie sessions with anti-forgery, throttling, group → role mapping, local mode.</summary>
public class AuthTests
{
    [Test]
    public async Task Jwt_IsValidatedForSignatureAudienceAndExpiry()
    {
        await using var server = await ServerHarness.StartAsync();
        using (var ok = server.Client(server.Token("alice", ["approver"])))
        {
            var session = await server.GetJsonAsync(ok, "/api/v1/session");
            Assert.That(session["user"]!.GetValue<string>(), Is.EqualTo("alice"));
            Assert.That(session["roles"]!.AsArray().Select(r => r!.GetValue<string>()), Is.EqualTo(new[] { "approver" }));
            Assert.That(session["mode"]!.GetValue<string>(), Is.EqualTo("auth"));
        }
        var otherKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        foreach (var (what, token) in new[]
        {
            ("wrong signature", server.Token("mallory", ["admin"], key: otherKey)),
            ("wrong audience", server.Token("mallory", ["admin"], audience: "someone-else")),
            ("expired", server.Token("mallory", ["admin"], expires: DateTime.UtcNow.AddHours(-1))),
            ("garbage", "not.a.token"),
        })
        {
            using var client = server.Client(token);
            using var response = await client.GetAsync("/api/v1/session");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), what);
            Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"), what);
        }
    }

    [Test]
    public async Task GroupClaims_MapToRolesByConfiguration()
    {
        await using var server = await ServerHarness.StartAsync(groupRoles: new Dictionary<string, IReadOnlyList<string>>
        {
            ["ml-admins"] = ["admin"],
            ["ml-reviewers"] = ["approver", "viewer"],
        });
        using var reviewer = server.Client(server.Token("rita", groups: ["ml-reviewers", "unrelated"]));
        var session = await server.GetJsonAsync(reviewer, "/api/v1/session");
        Assert.That(session["roles"]!.AsArray().Select(r => r!.GetValue<string>()), Is.EquivalentTo(new[] { "approver", "viewer" }));
        using (var forbidden = await reviewer.GetAsync("/api/v1/keys"))
            Assert.That(forbidden.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using var admin = server.Client(server.Token("ada", groups: ["ml-admins"]));
        using (var allowed = await admin.GetAsync("/api/v1/keys"))
            Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var nobody = server.Client(server.Token("nemo", groups: ["unrelated"]));
        using (var none = await nobody.GetAsync("/api/v1/runs"))
            Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "authenticated but without any role");
    }

    [Test]
    public async Task ApiKeys_ShownOnce_StoredHashed_Revocable_Expiring()
    {
        await using var server = await ServerHarness.StartAsync();
        using var admin = server.As("root", "admin");
        using var created = await admin.PostAsJsonAsync("/api/v1/keys", new { name = "ci", roles = new[] { "operator" } });
        var body = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
        var key = body["key"]!.GetValue<string>();
        var id = body["id"]!.GetValue<string>();
        Assert.That(key, Does.StartWith("pk_"));

        var listed = await (await admin.GetAsync("/api/v1/keys")).Content.ReadAsStringAsync();
        Assert.That(listed, Does.Contain(id).And.Not.Contain(key), "listing never shows the key again");
        var stored = await server.Database.ScalarAsync<string>("SELECT string_agg(t::text, '|') FROM api_keys t");
        Assert.That(stored, Does.Not.Contain(key[3..]), "only a hash is stored");

        using (var ci = server.Client(key))
        {
            var session = await server.GetJsonAsync(ci, "/api/v1/session");
            Assert.That(session["user"]!.GetValue<string>(), Is.EqualTo("key:ci"));
            Assert.That(session["roles"]!.AsArray().Select(r => r!.GetValue<string>()), Is.EqualTo(new[] { "operator" }));
            using var forbidden = await ci.GetAsync("/api/v1/keys");
            Assert.That(forbidden.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
        using (var badRole = await admin.PostAsJsonAsync("/api/v1/keys", new { name = "x", roles = new[] { "viewer", "god" } }))
            Assert.That(JsonNode.Parse(await badRole.Content.ReadAsStringAsync())!["errors"]!["roles[1]"], Is.Not.Null);
        using (var past = await admin.PostAsJsonAsync("/api/v1/keys", new { name = "x", roles = new[] { "viewer" }, expiresAt = "2001-01-01T00:00:00Z" }))
            Assert.That(JsonNode.Parse(await past.Content.ReadAsStringAsync())!["errors"]!["expiresAt"], Is.Not.Null);

        using (var revoke = await admin.DeleteAsync($"/api/v1/keys/{id}"))
            Assert.That(revoke.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        using (var again = await admin.DeleteAsync($"/api/v1/keys/{id}"))
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        using (var ci = server.Client(key))
        using (var refused = await ci.GetAsync("/api/v1/session"))
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "a revoked key is refused at once");

        // An expired key is refused.
        var keys = new Pipelines.Api.Data.KeyStore(server.Database.DataSource, TimeProvider.System);
        var (_, expired) = await keys.CreateAsync("old", [Pipelines.Api.Domain.Role.Viewer], DateTimeOffset.UtcNow.AddMinutes(-1), "root", CancellationToken.None);
        using (var old = server.Client(expired))
        using (var refused = await old.GetAsync("/api/v1/session"))
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task CookieSession_NeedsTheCsrfTokenForChanges_AndEndsOnLogout()
    {
        await using var server = await ServerHarness.StartAsync();
        await server.CreateWorkflowAsync(Workflows.Hello);
        var keys = new Pipelines.Api.Data.KeyStore(server.Database.DataSource, TimeProvider.System);
        var (_, key) = await keys.CreateAsync("browser", [Pipelines.Api.Domain.Role.Operator], null, "root", CancellationToken.None);

        var cookies = new CookieContainer();
        using var browser = server.Client(handler: new HttpClientHandler { CookieContainer = cookies });
        using (var login = await browser.PostAsJsonAsync("/api/v1/session", new { apiKey = key }))
        {
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK), await login.Content.ReadAsStringAsync());
            var setCookie = string.Join(";", login.Headers.GetValues("Set-Cookie")).ToLowerInvariant();
            Assert.That(setCookie, Does.Contain("pipelines_session=").And.Contain("httponly").And.Contain("samesite=strict"));
        }
        var session = await server.GetJsonAsync(browser, "/api/v1/session");
        Assert.That(session["user"]!.GetValue<string>(), Is.EqualTo("key:browser"));
        var csrf = session["csrfToken"]!.GetValue<string>();

        using (var noToken = await browser.PostAsJsonAsync("/api/v1/runs", new { workflow = "hello" }))
        {
            Assert.That(noToken.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(await noToken.Content.ReadAsStringAsync(), Does.Contain("X-CSRF-Token"));
        }
        var withToken = new HttpRequestMessage(HttpMethod.Post, "/api/v1/runs") { Content = JsonContent.Create(new { workflow = "hello" }) };
        withToken.Headers.Add("X-CSRF-Token", csrf);
        using (var ok = await browser.SendAsync(withToken))
            Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.Created), await ok.Content.ReadAsStringAsync());

        var logout = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/session");
        logout.Headers.Add("X-CSRF-Token", csrf);
        using (var done = await browser.SendAsync(logout))
            Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        using (var after = await browser.GetAsync("/api/v1/session"))
            Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        using (var wrong = await server.Client().PostAsJsonAsync("/api/v1/session", new { apiKey = "pk_wrongwrongwrongwrongwrongwrong" }))
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task RepeatedFailedLogins_AreThrottledWithRetryAfter()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client("pk_guessguessguessguessguessguessguess");
        var unauthorized = 0;
        HttpResponseMessage? throttled = null;
        // The first failures are free; then each waits twice as long. However slow the machine, a 429 comes.
        for (var i = 0; i < 30 && throttled is null; i++)
        {
            var response = await client.GetAsync("/api/v1/runs");
            if (response.StatusCode == HttpStatusCode.TooManyRequests) throttled = response;
            else
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
                unauthorized++;
                response.Dispose();
            }
        }
        Assert.That(throttled, Is.Not.Null, "repeated failures are throttled");
        Assert.That(unauthorized, Is.GreaterThanOrEqualTo(5), "the first five failures are answered normally");
        Assert.That(throttled!.Headers.RetryAfter, Is.Not.Null);
        Assert.That(throttled.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        throttled.Dispose();
    }

    [Test]
    public async Task ApiKeyUse_IsRecorded_WithoutAWritePerRequest()
    {
        await using var server = await ServerHarness.StartAsync();
        var keys = new Pipelines.Api.Data.KeyStore(server.Database.DataSource, TimeProvider.System);
        var (info, key) = await keys.CreateAsync("busy", [Pipelines.Api.Domain.Role.Viewer], null, "root", CancellationToken.None);
        using var client = server.Client(key);
        using (var first = await client.GetAsync("/api/v1/runs"))
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var row = $"SELECT {{0}} FROM api_keys WHERE id = '{info.Id}'";
        var usedAt = await server.Database.ScalarAsync<DateTime>(string.Format(row, "last_used_at"));
        // xmin changes with every update of the row: unchanged means no request after the first wrote to it.
        var version = await server.Database.ScalarAsync<string>(string.Format(row, "xmin::text"));
        for (var i = 0; i < 10; i++)
        {
            using var again = await client.GetAsync("/api/v1/runs");
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        Assert.That(await server.Database.ScalarAsync<string>(string.Format(row, "xmin::text")), Is.EqualTo(version));
        Assert.That(await server.Database.ScalarAsync<DateTime>(string.Format(row, "last_used_at")), Is.EqualTo(usedAt));

        // Once the stored use is older than the resolution, the next request records it again.
        await server.Database.ExecAsync($"UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = '{info.Id}'");
        using (var later = await client.GetAsync("/api/v1/runs"))
            Assert.That(later.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var listed = JsonNode.Parse(await (await server.As("root", "admin").GetAsync("/api/v1/keys")).Content.ReadAsStringAsync())!;
        var lastUsed = listed["items"]!.AsArray().Single(k => k!["id"]!.GetValue<string>() == info.Id.ToString())!["lastUsedAt"]!.GetValue<DateTimeOffset>();
        Assert.That(DateTimeOffset.UtcNow - lastUsed, Is.LessThan(TimeSpan.FromMinutes(1)));
    }

    [Test]
    public async Task AValidKey_FromAThrottledAddress_IsRefused()
    {
        await using var server = await ServerHarness.StartAsync();
        var keys = new Pipelines.Api.Data.KeyStore(server.Database.DataSource, TimeProvider.System);
        var (info, key) = await keys.CreateAsync("good", [Pipelines.Api.Domain.Role.Viewer], null, "root", CancellationToken.None);
        using (var guesser = server.Client("pk_guessguessguessguessguessguessguess"))
            for (var i = 0; i < 30; i++)
            {
                using var response = await guesser.GetAsync("/api/v1/runs");
                if (response.StatusCode == HttpStatusCode.TooManyRequests) break;
            }
        using var client = server.Client(key);
        using var refused = await client.GetAsync("/api/v1/runs");
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "the address is throttled whatever key it presents");
        Assert.That(await server.Database.ScalarAsync<bool>($"SELECT last_used_at IS NULL FROM api_keys WHERE id = '{info.Id}'"), Is.True,
            "a refused request does not count as a use of the key");
    }

    [Test]
    public void ApiKeyUse_IsWrittenAtMostOncePerResolution()
    {
        var now = DateTimeOffset.Parse("2026-12-05T12:00:00Z");
        Assert.That(Pipelines.Api.Domain.ApiKeyUse.ShouldRecord(null, now), Is.True);
        Assert.That(Pipelines.Api.Domain.ApiKeyUse.ShouldRecord(now.AddSeconds(-59), now), Is.False);
        Assert.That(Pipelines.Api.Domain.ApiKeyUse.ShouldRecord(now.AddSeconds(-60), now), Is.True);
    }

    [Test]
    public void LocalMode_IsRefusedOnNonLoopbackAddresses()
    {
        foreach (var url in new[] { "http://0.0.0.0:8080", "http://*:8080", "http://+:8080", "http://192.168.1.10:8080", "http://[::]:8080", "http://example.com:80" })
            Assert.Throws<LocalModeException>(() => ApiServer.RequireLoopback([url]), url);
        Assert.DoesNotThrow(() => ApiServer.RequireLoopback(["http://127.0.0.1:0", "http://[::1]:8080", "http://localhost:5000"]));
    }

    [Test]
    public async Task LocalMode_IsTheLocalAdmin_WithAntiForgeryOnChanges()
    {
        await using var server = await ServerHarness.StartAsync(local: true);
        using var browser = server.Client();
        var session = await server.GetJsonAsync(browser, "/api/v1/session");
        Assert.That((session["user"]!.GetValue<string>(), session["mode"]!.GetValue<string>()), Is.EqualTo(("local-admin", "local")));
        Assert.That(session["roles"]!.AsArray().Select(r => r!.GetValue<string>()), Is.EqualTo(new[] { "admin" }));
        using (var forged = await browser.PostAsJsonAsync("/api/v1/workflows", new { yaml = Workflows.Hello }))
            Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "a page from another site cannot drive the local admin");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/workflows") { Content = JsonContent.Create(new { yaml = Workflows.Hello }) };
        request.Headers.Add("X-CSRF-Token", session["csrfToken"]!.GetValue<string>());
        using (var ok = await browser.SendAsync(request))
            Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.Created), await ok.Content.ReadAsStringAsync());
    }
}
