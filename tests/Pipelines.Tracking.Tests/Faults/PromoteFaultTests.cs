using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Pipelines.Server;
using Pipelines.Testing;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Tracking.Tests.Faults;

/// <summary>
/// Promotion against a failing real MLflow 2.17 server (../shared/mlflow-server): answering 503 (through a small
/// proxy in front of it, before or after the server carried the request out), stopped, and rejecting a request.
/// After each fault the registry is either unchanged or visibly unfinished (a pending tag), never a moved alias
/// taken as done; the retried promote completes; errors carry MLflow's message verbatim and name the server.
/// </summary>
[NonParallelizable]
public class PromoteFaultTests
{
    private RealMlflow _mlflow = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _mlflow = await RealMlflow.StartNewAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _mlflow.DisposeAsync();

    private static MlflowClient Client(string uri, int attempts = 3) => new(new MlflowClientOptions
    {
        TrackingUri = new Uri(uri), MaxAttempts = attempts, InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(20),
    });

    /// <summary>A model with versions 1..n (from one run), v1 champion.</summary>
    private async Task<string> ModelWithChampionAsync(int versions)
    {
        using var client = Client(_mlflow.Uri);
        var tracking = new PipelineTracking(client);
        var name = "faults-" + Guid.NewGuid().ToString("N")[..8];
        var experiment = await client.GetOrCreateExperimentAsync("promote-faults");
        var run = await client.CreateRunAsync(new CreateRunRequest { ExperimentId = experiment, RunName = "trained" });
        await client.CreateRegisteredModelAsync(name);
        for (var i = 1; i <= versions; i++)
            await client.CreateModelVersionAsync(new CreateModelVersionRequest(name, PipelineTracking.RunModelUri(run.Info.RunId), run.Info.RunId));
        await tracking.PromoteAsync(name, "1", "alice", "first");
        return name;
    }

    /// <summary>Aliases and every version's tags: what a promotion may change.</summary>
    private async Task<List<string>> RegistryAsync(string name)
    {
        using var client = Client(_mlflow.Uri);
        var model = await client.GetRegisteredModelAsync(name);
        var lines = (model.Aliases ?? []).Select(a => $"alias {a.Alias}={a.Version}").Order().ToList();
        lines.AddRange((model.Tags ?? []).Select(t => $"model tag {t.Key}={t.Value}").Order());
        foreach (var v in (await client.SearchModelVersionsAsync($"name='{name}'")).Items.OrderBy(v => int.Parse(v.Version)))
            lines.Add($"v{v.Version} {v.Status} tags=[{string.Join(",", (v.Tags ?? []).Select(t => $"{t.Key}={t.Value}").Order())}]");
        return lines;
    }

    [Test]
    public async Task Server503_BeforeTheChampionMoves_LeavesTheChampionServing_AndTheRetriedPromoteCompletes()
    {
        var name = await ModelWithChampionAsync(2);
        await using var proxy = await FaultProxy.StartAsync(_mlflow.Uri, (request, _) =>
            request.Method == "POST" && request.Path.Value!.EndsWith("registered-models/alias") ? Fault.Before503 : Fault.None);
        using var client = Client(proxy.Url);
        var e = Assert.ThrowsAsync<MlflowException>(() => new PipelineTracking(client).PromoteAsync(name, "2", "bob", "better"));
        Assert.That((int)e!.StatusCode, Is.EqualTo(503));
        Assert.That(e.Server, Is.EqualTo(proxy.Url));
        Assert.That(proxy.Faults, Is.EqualTo(3), "the client retried the 503s");

        var after = await RegistryAsync(name);
        Assert.That(after, Does.Contain("alias champion=1"), "the old champion still serves");
        Assert.That(after.Where(l => l.StartsWith("v2")).Single(), Does.Not.Contain("promoted_by"));

        using var healthy = Client(_mlflow.Uri);
        var result = await new PipelineTracking(healthy).PromoteAsync(name, "2", "bob", "better");
        Assert.That((result.Champion, result.PreviousChampion), Is.EqualTo(("2", "1")));
        var done = await RegistryAsync(name);
        Assert.That(done, Does.Contain("alias champion=2").And.Contain("alias previous-champion=1"));
        Assert.That(done.Single(l => l.StartsWith("v2")), Does.Contain("pipelines.promoted_by=bob").And.Not.Contain(PipelineTracking.PromotionPending));
    }

    [Test]
    public async Task Server503_AfterItMovedTheChampion_IsNotTakenAsDone_TheRetriedPromoteWritesWhoAndWhy()
    {
        var name = await ModelWithChampionAsync(2);
        // The server carries out the champion move but the answer is lost, every time: the promote fails after the switch.
        await using var proxy = await FaultProxy.StartAsync(_mlflow.Uri, (request, body) =>
            request.Method == "POST" && request.Path.Value!.EndsWith("registered-models/alias") && body.Contains("\"champion\"") ? Fault.After503 : Fault.None);
        using var client = Client(proxy.Url);
        Assert.ThrowsAsync<MlflowException>(() => new PipelineTracking(client).PromoteAsync(name, "2", "bob", "better"));
        var half = await RegistryAsync(name);
        Assert.That(half, Does.Contain("alias champion=2"), "the server did move it");
        Assert.That(half.Single(l => l.StartsWith("v2")), Does.Contain($"{PipelineTracking.PromotionPending}=1").And.Not.Contain("promoted_by"),
            "the version says its promotion is unfinished");

        using var healthy = Client(_mlflow.Uri);
        var result = await new PipelineTracking(healthy).PromoteAsync(name, "2", "bob", "better");
        Assert.That((result.Champion, result.PreviousChampion), Is.EqualTo(("2", "1")));
        var done = await RegistryAsync(name);
        Assert.That(done, Does.Contain("alias champion=2").And.Contain("alias previous-champion=1"));
        Assert.That(done.Single(l => l.StartsWith("v2")), Does.Contain("pipelines.promoted_by=bob").And.Contain("pipelines.promoted_reason=better")
            .And.Not.Contain(PipelineTracking.PromotionPending));
        Assert.That(done.Single(l => l.StartsWith("model tag pipelines.last_change")), Does.StartWith("model tag pipelines.last_change=promoted v2 by bob"));
    }

    [Test]
    public async Task Rollback_InterruptedAfterTheChampionMoved_IsFinishedByTheRetry()
    {
        var name = await ModelWithChampionAsync(2);
        using (var c = Client(_mlflow.Uri)) await new PipelineTracking(c).PromoteAsync(name, "2", "bob", "better");
        await using var proxy = await FaultProxy.StartAsync(_mlflow.Uri, (request, _) =>
            request.Method == "DELETE" && request.Path.Value!.EndsWith("registered-models/alias") ? Fault.After503 : Fault.None);
        using (var client = Client(proxy.Url))
            Assert.ThrowsAsync<MlflowException>(() => new PipelineTracking(client).RollbackAsync(name, "carol", "v2 misbehaves"));
        Assert.That(await RegistryAsync(name), Does.Contain("alias champion=1"));

        using var healthy = Client(_mlflow.Uri);
        var result = await new PipelineTracking(healthy).RollbackAsync(name, "carol", "v2 misbehaves");
        Assert.That((result.Champion, result.PreviousChampion), Is.EqualTo(("1", "2")));
        var done = await RegistryAsync(name);
        Assert.That(done, Does.Contain("alias champion=1").And.Not.Contain("alias previous-champion=1").And.Not.Contain("alias previous-champion=2"));
        Assert.That(done.Single(l => l.StartsWith("v2")), Does.Contain("pipelines.rolled_back_by=carol"));
        Assert.That(done.Single(l => l.StartsWith("v1")), Does.Contain("pipelines.restored_by=carol").And.Not.Contain(PipelineTracking.RollbackPending));
    }

    [Test]
    public async Task StoppedServer_FailsNamingIt_LeavesTheRegistryUnchanged_AndPromoteCompletesOnceItIsBack()
    {
        var name = await ModelWithChampionAsync(2);
        var before = await RegistryAsync(name);
        await _mlflow.StopAsync();
        try
        {
            using var client = Client(_mlflow.Uri);
            var e = Assert.ThrowsAsync<HttpRequestException>(() => new PipelineTracking(client).PromoteAsync(name, "2", "bob", "better"));
            Assert.That(e!.Message, Does.StartWith($"MLflow tracking server {_mlflow.Uri} cannot be reached after 3 attempt(s)"));
        }
        finally
        {
            await _mlflow.StartAsync();
        }
        Assert.That(await RegistryAsync(name), Is.EqualTo(before));
        using var healthy = Client(_mlflow.Uri);
        Assert.That((await new PipelineTracking(healthy).PromoteAsync(name, "2", "bob", "better")).Champion, Is.EqualTo("2"));
    }

    [Test]
    public async Task RejectedRequest_CarriesMlflowsCodeAndMessageVerbatim_AndTheServer()
    {
        var name = await ModelWithChampionAsync(1);
        var before = await RegistryAsync(name);
        using var client = Client(_mlflow.Uri);
        var e = Assert.ThrowsAsync<ResourceDoesNotExistException>(() => new PipelineTracking(client).PromoteAsync(name, "7", "bob", "typo"));
        Assert.That(e!.Message, Is.EqualTo($"Model Version (name={name}, version=7) not found"));
        Assert.That(e.Server, Is.EqualTo(_mlflow.Uri));
        // A local path as a source is what the real server refused in the issue: its message comes through whole.
        var bad = Assert.ThrowsAsync<InvalidParameterValueException>(() =>
            client.CreateModelVersionAsync(new CreateModelVersionRequest(name, "/tmp/attempts/trial-2-model.zip")));
        Assert.That(bad!.Message, Is.EqualTo("Invalid model version source: '/tmp/attempts/trial-2-model.zip'. To use a local path as a model version "
            + "source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id."));
        Assert.That(await RegistryAsync(name), Is.EqualTo(before));
    }

    [Test]
    public async Task CreateAnsweredWith503AfterTheServerMadeTheVersion_LeavesOneVersion_ReusedByTheRetry()
    {
        var name = await ModelWithChampionAsync(1);
        using var direct = Client(_mlflow.Uri);
        var run = await direct.CreateRunAsync(new CreateRunRequest { ExperimentId = await direct.GetOrCreateExperimentAsync("promote-faults"), RunName = "t" });
        var artifact = Guid.NewGuid().ToString();
        var creates = 0;
        // Every create is carried out and answered 503: the client's retries leave three versions of one artifact.
        await using var proxy = await FaultProxy.StartAsync(_mlflow.Uri, (request, _) =>
            request.Path.Value!.EndsWith("model-versions/create") ? Fault.After503 : Fault.None);
        using var client = Client(proxy.Url);
        var tracking = new PipelineTracking(client);
        Task<ModelVersion> Create(MlflowClient c, CancellationToken ct)
        {
            creates++;
            return c.CreateModelVersionAsync(new CreateModelVersionRequest(name, PipelineTracking.RunModelUri(run.Info.RunId), run.Info.RunId,
                [new Tag("pipelines.artifact", artifact)]), ct);
        }
        Assert.ThrowsAsync<MlflowException>(() => tracking.VersionForArtifactAsync(name, "pipelines.artifact", artifact, ct => Create(client, ct)));
        Assert.That((await RegistryAsync(name)).Count(l => l.Contains(artifact)), Is.EqualTo(3), "what the lost answers left");

        // The step's retry (server healthy again) reuses the first and deletes the duplicates instead of creating a fourth.
        var log = new List<string>();
        var version = await new PipelineTracking(direct).VersionForArtifactAsync(name, "pipelines.artifact", artifact, ct => Create(direct, ct), log.Add);
        Assert.That(creates, Is.EqualTo(1));
        Assert.That(version.Version, Is.EqualTo("2"));
        var after = await RegistryAsync(name);
        Assert.That(after.Where(l => l.Contains(artifact)).Select(l => l.Split(' ')[0]), Is.EqualTo(new[] { "v2" }));
        Assert.That(log, Has.Count.EqualTo(2));
        Assert.That((await new PipelineTracking(direct).PromoteAsync(name, version.Version, "bob", "retry")).Champion, Is.EqualTo("2"));
    }
}

public enum Fault { None, Before503, After503 }

/// <summary>
/// An HTTP proxy in front of a real server that answers 503 instead of forwarding (<see cref="Fault.Before503"/>) or
/// after forwarding (<see cref="Fault.After503"/>: the server did the work, the answer is lost), as a gateway does.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _http = new();
    private int _faults;

    private FaultProxy(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";
    public int Faults => _faults;

    public static async Task<FaultProxy> StartAsync(string target, Func<HttpRequest, string, Fault> rule)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var proxy = new FaultProxy(app);
        app.Run(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            var fault = rule(ctx.Request, body);
            if (fault == Fault.Before503)
            {
                Interlocked.Increment(ref proxy._faults);
                ctx.Response.StatusCode = 503;
                await ctx.Response.WriteAsync("<html>503 Service Unavailable</html>");
                return;
            }
            using var forward = new HttpRequestMessage(new HttpMethod(ctx.Request.Method), target.TrimEnd('/') + ctx.Request.Path + ctx.Request.QueryString);
            if (body.Length > 0 || ctx.Request.ContentType is not null)
                forward.Content = new StringContent(body, System.Text.Encoding.UTF8, ctx.Request.ContentType?.Split(';')[0] ?? "application/json");
            using var answer = await proxy._http.SendAsync(forward);
            var bytes = await answer.Content.ReadAsByteArrayAsync();
            if (fault == Fault.After503)
            {
                Interlocked.Increment(ref proxy._faults);
                ctx.Response.StatusCode = 503;
                await ctx.Response.WriteAsync("<html>503 Service Unavailable</html>");
                return;
            }
            ctx.Response.StatusCode = (int)answer.StatusCode;
            if (answer.Content.Headers.ContentType is { } type) ctx.Response.ContentType = type.ToString();
            await ctx.Response.Body.WriteAsync(bytes);
        });
        await app.StartAsync();
        proxy.Url = PipelinesServer.Addresses(app).Single().TrimEnd('/');
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }
}
