using System.Text.RegularExpressions;

namespace Pipelines.Web.Tests;

/// <summary>
/// A new user's whole path in the browser, on the server's API only: sign in, design a workflow from an empty canvas,
/// save, run, watch it live, be refused approving one's own run (four-eyes), approve it as a second person, and see
/// the promotion in Models.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class EndToEndTests
{
    private WebServer _server = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        // The machine running these tests is shared and often loaded: Playwright's 5 s defaults made a correct UI
        // fail while a worker trained or the server answered slowly. Generous waits, never fixed sleeps.
        Assertions.SetDefaultExpectTimeout(90_000);
        _server = await WebServer.StartAsync();
        (_playwright, _browser) = await Browser.LaunchAsync();
        _server.StartWorker();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
    }

    private static async Task FillStepAsync(IPage page, string step, string field, string value)
    {
        var input = page.Locator($"#step-{step}-with-{field}");
        try { await input.FillAsync(value); }
        catch (TimeoutException)
        {
            await Browser.ShotAsync(page, $"failed-{step}-{field}");
            throw;
        }
        await input.BlurAsync();
    }

    [Test]
    public async Task Design_save_run_watch_approve_as_a_second_person_and_see_the_promotion()
    {
        // Alice signs in with an API key through the login form (cookie session with a CSRF token).
        var key = await _server.CreateKeyAsync("alice", "admin");
        var alice = await Browser.AnonymousAsync(_browser, _server);
        await alice.GotoAsync("/");
        await alice.GetByLabel("API key").FillAsync(key);
        await alice.GetByRole(AriaRole.Button, new() { Name = "Sign in with key" }).ClickAsync();
        await Assertions.Expect(alice.GetByTestId("who")).ToContainTextAsync("key:alice");

        // An empty canvas: name it, then add three steps from the palette and fill their schema forms.
        await alice.GetByRole(AriaRole.Link, new() { Name = "New workflow" }).ClickAsync();
        await alice.Locator(".monaco-editor").WaitForAsync();
        await alice.Locator("#wf-name").FillAsync("e2e-energy");
        await alice.GetByTestId("palette-train").ClickAsync();
        await FillStepAsync(alice, "train", "train", "workflows/data/energy/energy-train.csv");
        await FillStepAsync(alice, "train", "label", "kwh");
        await FillStepAsync(alice, "train", "task", "regression");
        await FillStepAsync(alice, "train", "rounds", "20");
        await FillStepAsync(alice, "train", "pipeline", "[{op: one_hot, columns: [building, weekday]}]");
        await alice.GetByTestId("palette-approval").ClickAsync();
        await FillStepAsync(alice, "approval", "summary", "${{ steps.train.outputs.metrics }}");
        await alice.GetByTestId("palette-promote").ClickAsync();
        await FillStepAsync(alice, "promote", "model", "${{ steps.train.outputs.model }}");
        await FillStepAsync(alice, "promote", "model_name", "e2e-energy");
        await FillStepAsync(alice, "promote", "approved_by", "${{ steps.approval.outputs.decided_by }}");
        await Assertions.Expect(alice.GetByTestId("validity")).ToHaveTextAsync("valid");
        await Assertions.Expect(alice.GetByTestId("node-promote")).ToBeVisibleAsync();
        await Browser.ShotAsync(alice, "designer-new");
        await alice.GetByTestId("save").ClickAsync();
        // The client-side navigation may already have happened: poll the current address.
        try { await Assertions.Expect(alice).ToHaveURLAsync(new Regex("/workflows/e2e-energy$")); }
        catch (TimeoutException)
        {
            await Browser.ShotAsync(alice, "failed-save");
            throw;
        }

        // Run it with the parameters form and watch the DAG live.
        await alice.GetByTestId("open-run").ClickAsync();
        await alice.GetByTestId("start-run").ClickAsync();
        await alice.WaitForURLAsync(new Regex("/runs/[0-9a-f-]{36}$"));
        var runId = alice.Url.Split('/').Last();
        await Assertions.Expect(alice.GetByTestId("node-train")).ToHaveAttributeAsync("data-state", new Regex("succeeded|failed"), new() { Timeout = 180_000 });
        Assert.That(await alice.GetByTestId("node-train").GetAttributeAsync("data-state"), Is.EqualTo("succeeded"),
            await alice.GetByTestId("node-train").InnerTextAsync() + "\n" + _server.ServerOutput);
        await Assertions.Expect(alice.GetByTestId("node-approval")).ToHaveAttributeAsync("data-state", "waiting", new() { Timeout = 60_000 });
        await Browser.ShotAsync(alice, "run-waiting");

        // Alice started the run: the inbox explains four-eyes and the server refuses her decision.
        await alice.GetByRole(AriaRole.Link, new() { NameRegex = new Regex("^Approvals") }).ClickAsync();
        var card = alice.GetByTestId($"approval-{runId}");
        await Assertions.Expect(card.GetByTestId("why-not")).ToBeVisibleAsync();
        // Her role may decide approvals, so the button is there; the server's refusal is shown as it explains it.
        await card.GetByTestId("approve").ClickAsync();
        await Assertions.Expect(card.GetByTestId("decision-error")).ToBeVisibleAsync();
        await Browser.ShotAsync(alice, "inbox-refused");
        await Assertions.Expect(card.GetByTestId("decision")).ToHaveCountAsync(0);

        // Bob, an approver signed in through the identity provider, sees the badge and approves with a comment.
        var bob = await Browser.AsUserAsync(_browser, _server, "bob", "approver");
        await bob.GotoAsync("/approvals");
        await Assertions.Expect(bob.GetByTestId("approval-badge")).ToHaveTextAsync("1");
        var bobCard = bob.GetByTestId($"approval-{runId}");
        await Assertions.Expect(bobCard.GetByText("for you")).ToBeVisibleAsync();
        // The candidate's metrics, from the summary the workflow passed (the training step's metrics).
        await Assertions.Expect(bobCard.Locator("table.metrics")).ToContainTextAsync("valid_rmse");
        await bobCard.GetByLabel("Comment").FillAsync("RMSE fine on the training split");
        await Browser.ShotAsync(bob, "inbox");
        await bobCard.GetByTestId("approve").ClickAsync();
        await bob.GetByRole(AriaRole.Tab, new() { Name = "History" }).ClickAsync();
        await Assertions.Expect(bob.GetByTestId($"approval-{runId}").GetByTestId("decision")).ToContainTextAsync("Approved by bob");

        // Alice's run view finishes live.
        await alice.GotoAsync($"/runs/{runId}");
        await Assertions.Expect(alice.GetByTestId("node-promote")).ToHaveAttributeAsync("data-state", new Regex("succeeded|failed"), new() { Timeout = 120_000 });
        Assert.That(await alice.GetByTestId("node-promote").GetAttributeAsync("data-state"), Is.EqualTo("succeeded"), await alice.GetByTestId("node-promote").InnerTextAsync());
        await Assertions.Expect(alice.GetByTestId("run-state")).ToHaveTextAsync("succeeded", new() { Timeout = 120_000 });
        await Assertions.Expect(alice.GetByTestId("node-promote")).ToHaveAttributeAsync("data-state", "succeeded");
        await Browser.ShotAsync(alice, "run");

        // The promotion shows in Models.
        await alice.GetByRole(AriaRole.Link, new() { Name = "Models" }).ClickAsync();
        await alice.GetByRole(AriaRole.Link, new() { Name = "e2e-energy" }).ClickAsync();
        await Assertions.Expect(alice.GetByTestId("aliases")).ToContainTextAsync("champion → v1");
        await Browser.ShotAsync(alice, "models");
    }
}
