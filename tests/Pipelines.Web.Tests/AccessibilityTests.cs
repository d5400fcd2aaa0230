using Deque.AxeCore.Playwright;

namespace Pipelines.Web.Tests;

/// <summary>Keyboard-only use and an axe-core check of every screen (no serious or critical violations).</summary>
[TestFixture]
[NonParallelizable]
public sealed class AccessibilityTests
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

    [TestCase("/workflows", "h1")]
    [TestCase("/workflows/hello", ".react-flow__node")]
    [TestCase("/runs", "h1")]
    [TestCase("/approvals", "h1")]
    [TestCase("/models", "h1")]
    [TestCase("/triggers", "[data-testid=triggers]")]
    [TestCase("/jobs", "[data-testid=schedules]")]
    public async Task No_serious_axe_violations(string path, string ready)
    {
        var page = await Browser.AsUserAsync(_browser, _server, "ada", "admin");
        await page.GotoAsync(path);
        await page.Locator(ready).First.WaitForAsync();
        var result = await page.RunAxe();
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.That(serious, Is.Empty, string.Join("\n", serious.Select(v => $"{v.Id} ({v.Impact}): {v.Help} — {string.Join("; ", v.Nodes.Take(3).Select(n => n.Html))}")));
        await page.Context.CloseAsync();
    }

    [Test]
    public async Task Keyboard_alone_reaches_the_screens_and_designs_a_step()
    {
        var page = await Browser.AsUserAsync(_browser, _server, "ada", "admin");
        await page.GotoAsync("/workflows");
        await page.Locator("h1").WaitForAsync();
        // First Tab: the skip link; Enter moves focus to the content.
        await page.Keyboard.PressAsync("Tab");
        await Assertions.Expect(page.Locator(":focus")).ToHaveTextAsync("Skip to content");
        // The main navigation follows, in order; Enter follows a link.
        await page.Keyboard.PressAsync("Tab");
        await Assertions.Expect(page.Locator(":focus")).ToHaveTextAsync("Workflows");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Tab");
        await Assertions.Expect(page.Locator(":focus")).ToContainTextAsync("Models");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync("**/models");

        // In the designer, a palette entry is a button: Enter adds the step, whose form gets the keyboard next.
        await page.GotoAsync("/workflows/hello");
        await page.Locator(".react-flow__node").First.WaitForAsync();
        await page.GetByTestId("palette-noop").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByTestId("node-noop")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("step-form")).ToBeVisibleAsync();
        // Graph nodes take focus with Tab and are selected with Enter.
        await page.Locator(".react-flow__node[data-id=nap]").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByRole(AriaRole.Tab, new() { Name = "Step nap" })).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }
}
