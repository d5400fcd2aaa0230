namespace Pipelines.Web.Tests;

/// <summary>Debian's Chromium driven by Playwright (no browser download), and where screenshots go.</summary>
public static class Browser
{
    public const string Chromium = "/usr/bin/chromium";

    public static async Task<(IPlaywright, IBrowser)> LaunchAsync()
    {
        if (!File.Exists(Chromium)) Assert.Fail($"{Chromium} is missing: infra/prerequisites.sh installs Debian's chromium package");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        return (playwright, browser);
    }

    public static string ScreenshotDir
    {
        get
        {
            var dir = Path.Combine(WebServer.Root, "artifacts", "screenshots");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public static Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name + ".png") });

    /// <summary>A signed-in page: a bearer token on every request, as after an OIDC login.</summary>
    public static async Task<IPage> AsUserAsync(IBrowser browser, WebServer server, string user, params string[] roles)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1440, Height = 900 },
            ExtraHTTPHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + server.Token(user, roles) },
        });
        return Watch(await context.NewPageAsync());
    }

    /// <summary>Browser console errors and uncaught exceptions go to the test's output, to explain a failure.</summary>
    private static IPage Watch(IPage page)
    {
        // A loaded shared machine can take tens of seconds to answer a click (Monaco's first load, a busy server).
        page.SetDefaultTimeout(90_000);
        page.Console += (_, m) => { if (m.Type == "error") TestContext.Progress.WriteLine($"browser console: {m.Text}"); };
        page.PageError += (_, e) => TestContext.Progress.WriteLine($"browser page error: {e}");
        return page;
    }

    public static async Task<IPage> AnonymousAsync(IBrowser browser, WebServer server)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1440, Height = 900 },
        });
        return Watch(await context.NewPageAsync());
    }
}
