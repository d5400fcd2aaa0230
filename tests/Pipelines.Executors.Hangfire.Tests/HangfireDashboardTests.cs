using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Pipelines.Activities;
using Pipelines.Api.Auth;
using Pipelines.Api.Domain;
using Pipelines.Api.Hosting;
using Pipelines.Postgres.Engine;
using Pipelines.Testing;

namespace Pipelines.Executors.Hangfire.Tests;

/// <summary>The Hangfire Dashboard mounted in the server the way <c>pipelines server --executor hangfire</c> mounts it.</summary>
public class HangfireDashboardTests
{
    private const string Issuer = "https://issuer.pipelines.test";
    private const string Audience = "pipelines-api";

    [Test]
    public async Task Dashboard_OpensForAdminsOnly_AndNamesTheRunAndStepOfAJob()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var registry = BuiltinActivities.CreateRegistry();
        var storage = HangfireStorage.Create(db.DataSource, new HangfireExecutorOptions());
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var root = Path.Combine(Path.GetTempPath(), "pipelines-hangfire-tests-" + Guid.NewGuid().ToString("N")[..8]);
        await using var app = ApiServer.Build(new ApiServerOptions
        {
            DataSource = db.DataSource,
            Registry = registry,
            Store = new PostgresEngineStore(db.DataSource, registry),
            ArtifactRegistry = new Pipelines.Postgres.Artifacts.PostgresArtifactRegistry(db.DataSource),
            SchemaVersion = Pipelines.Postgres.Migrations.Migrator.NewestVersion,
            TrackingArtifactRoot = root,
            Urls = ["http://127.0.0.1:0"],
            Auth = new AuthSettings { SigningKey = key, Issuer = Issuer, Audience = Audience },
            RequestLogging = false,
            Extensions = [new ApiExtension(HangfireDashboard.AddServices, e => HangfireDashboard.Map(e, storage).Requires(Role.Admin))],
        });
        await ApiServer.StartAsync(app, CancellationToken.None);
        try
        {
            var run = Guid.NewGuid();
            var display = HangfireQueues.DisplayName("nightly", run, "train", null, 1);
            var jobId = new BackgroundJobClient(storage).Create(
                Job.FromExpression<StepJob>(j => j.RunAsync(Guid.NewGuid(), 1, run, "train", display)), new EnqueuedState("default"));

            var address = new Uri(ApiServer.Addresses(app).First());
            HttpClient Client(string? bearer)
            {
                var c = new HttpClient { BaseAddress = address };
                if (bearer is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
                return c;
            }
            using var anonymous = Client(null);
            using var viewer = Client(Token(key, "vera", "viewer"));
            using var admin = Client(Token(key, "ada", "admin"));
            var page = $"{HangfireDashboard.Path}/jobs/details/{jobId}";
            Assert.That((await anonymous.GetAsync(page)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That((await viewer.GetAsync(page)).StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            var response = await admin.GetAsync(page);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            var html = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());
            Assert.That(html, Does.Contain($"nightly run {run} · step train · attempt 1"), "the job is shown by its run and step");
        }
        finally
        {
            await app.StopAsync();
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    private static string Token(string key, string user, string role) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity([new Claim("preferred_username", user), new Claim("sub", user), new Claim("roles", role)]),
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(key)), SecurityAlgorithms.HmacSha256),
        });
}
