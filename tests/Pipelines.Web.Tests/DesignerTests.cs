using System.Text.RegularExpressions;

namespace Pipelines.Web.Tests;

/// <summary>The designer round-trips YAML: unedited saves are byte-identical, a moved node changes no YAML, one
/// edited input changes one line.</summary>
[TestFixture]
[NonParallelizable]
public sealed class DesignerTests
{
    private WebServer _server = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _server = await WebServer.StartAsync();
        (_playwright, _browser) = await Browser.LaunchAsync();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
    }

    public static IEnumerable<string> ShippedWorkflows() =>
        Directory.GetFiles(Path.Combine(WebServer.Root, "workflows"), "*.yaml")
            .Concat(Directory.GetFiles(Path.Combine(WebServer.Root, "workflows", "examples"), "*.yaml"))
            .Select(f => Path.GetRelativePath(WebServer.Root, f)).Order();

    private static string NameOf(string yaml) => Regex.Match(yaml, @"^name:\s*(\S+)", RegexOptions.Multiline).Groups[1].Value;

    private async Task<IPage> OpenAsync(string name)
    {
        var page = await Browser.AsUserAsync(_browser, _server, "ada", "admin");
        await page.GotoAsync($"/workflows/{name}");
        await page.Locator(".react-flow__node").First.WaitForAsync();
        await page.Locator(".monaco-editor").WaitForAsync();
        return page;
    }

    /// <summary>Saves and returns the YAML the server stored as the new latest version.</summary>
    private async Task<string> SaveAsync(IPage page, string name, string comment)
    {
        using var api = _server.Api("ada", "admin");
        async Task<int> Latest() => (await _server.GetJsonAsync(api, $"/api/v1/workflows/{name}/versions"))["items"]!.AsArray().Max(v => v!["version"]!.GetValue<int>());
        var before = await Latest();
        await page.GetByLabel("Comment", new() { Exact = true }).FillAsync(comment);
        await page.GetByTestId("save").ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = $"Saved as version {before + 1}" })).ToBeVisibleAsync();
        var latest = await Latest();
        Assert.That(latest, Is.EqualTo(before + 1));
        var stored = await _server.GetJsonAsync(api, $"/api/v1/workflows/{name}/versions/{latest}");
        return stored["yaml"]!.GetValue<string>();
    }

    [TestCaseSource(nameof(ShippedWorkflows))]
    public async Task Saving_a_shipped_workflow_without_edits_stores_identical_bytes(string file)
    {
        var original = await File.ReadAllTextAsync(Path.Combine(WebServer.Root, file));
        var name = NameOf(original);
        var page = await OpenAsync(name);
        var stored = await SaveAsync(page, name, "round trip");
        Assert.That(stored, Is.EqualTo(original), $"{file}: saving without edits changed the YAML");
        await page.Context.CloseAsync();
    }

    [Test]
    public async Task Moving_a_node_changes_only_layout_and_editing_one_input_changes_only_its_line()
    {
        // A copy of the shipped hello workflow under its own name, so the round-trip cases see the shipped one intact.
        var original = (await File.ReadAllTextAsync(Path.Combine(WebServer.Root, "workflows", "examples", "hello.yaml"))).Replace("name: hello\n", "name: hello-edit\n");
        using (var admin = _server.Api("ada", "admin"))
        using (var created = await admin.PostAsync("/api/v1/workflows", new StringContent(System.Text.Json.JsonSerializer.Serialize(new { name = "hello-edit", yaml = original }), System.Text.Encoding.UTF8, "application/json")))
            Assert.That((int)created.StatusCode, Is.EqualTo(201), await created.Content.ReadAsStringAsync());
        var page = await OpenAsync("hello-edit");

        // Drag a node: the position goes to the layout store (localStorage), never into the YAML.
        var node = page.GetByTestId("node-summary");
        var box = (await node.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + box.Width / 2, box.Y + 10);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + box.Width / 2 + 150, box.Y + 60, new() { Steps = 8 });
        await page.Mouse.UpAsync();
        var layout = await page.EvaluateAsync<string?>("() => localStorage.getItem('pipelines.layout.hello-edit')");
        Assert.That(layout, Does.Contain("\"summary\""), "the moved position is kept in the layout store");
        Assert.That(await SaveAsync(page, "hello-edit", "moved a node"), Is.EqualTo(original), "moving a node changed the YAML");

        // Edit one input through the form generated from the activity's schema: exactly that line changes.
        // The layout survives a reload (it is in the browser's layout store), still without touching the YAML.
        await page.ReloadAsync();
        await page.Locator(".monaco-editor").WaitForAsync();
        await page.GetByTestId("node-nap").ClickAsync();
        var ms = page.Locator("#step-nap-with-ms");
        await ms.FillAsync("250");
        await Browser.ShotAsync(page, "designer");
        var edited = await SaveAsync(page, "hello-edit", "nap 250 ms");
        var before = original.Split('\n');
        var after = edited.Split('\n');
        Assert.That(after, Has.Length.EqualTo(before.Length));
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
        Assert.That(changed, Has.Count.EqualTo(1), "only one line differs");
        Assert.That(before[changed[0]].Trim(), Is.EqualTo("ms: 100"));
        Assert.That(after[changed[0]], Is.EqualTo(before[changed[0]].Replace("100", "250")));

        // History shows both versions and the diff between them.
        await page.GetByRole(AriaRole.Button, new() { Name = "History" }).ClickAsync();
        var diff = page.GetByLabel("Differences");
        await Assertions.Expect(diff).ToContainTextAsync("+      ms: 250");
        await Assertions.Expect(diff).ToContainTextAsync("-      ms: 100");
        await page.Context.CloseAsync();
    }

    [Test]
    public async Task Server_validation_errors_are_marked_in_the_editor_and_on_the_node()
    {
        var page = await OpenAsync("hello");
        await page.GetByTestId("node-nap").ClickAsync();
        // A bad timeout through the form: the server's validator reports it with a line; the node shows it.
        await page.Locator("#step-nap-timeout").FillAsync("soon");
        await Assertions.Expect(page.GetByTestId("validity")).ToContainTextAsync("error");
        await Assertions.Expect(page.GetByTestId("node-nap").Locator(".node-err")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator(".monaco-editor .squiggly-error").First).ToBeVisibleAsync();
        await Browser.ShotAsync(page, "designer-error");
        await page.Context.CloseAsync();
    }
}
