using Pipelines.Cli.Tests.Processes;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Commands;

/// <summary>The live view at a terminal redraws in place: it never clears the screen or the scrollback.</summary>
public class LiveViewTests
{
    [Test]
    public async Task Run_AtATerminal_RedrawsByMovingUp_WithoutClearingTheScreenOrTheScrollback()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var file = Path.Combine(Path.GetTempPath(), $"pipelines-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, """
            name: live
            steps:
              - id: first
                uses: log
                with: { message: one }
              - id: pause
                uses: sleep
                needs: first
                with: { ms: 1500 }
              - id: last
                uses: log
                needs: pause
                with: { message: two }
            """);
        using var terminal = TerminalSession.Start(new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = "" },
            "run", file, "--db", db.ConnectionString);
        Assert.That(await terminal.WaitForExitAsync(TimeSpan.FromSeconds(120)), Is.EqualTo(0), terminal.Screen);

        var raw = terminal.Raw;
        Assert.That(raw, Does.Not.Contain("\u001b[2J").And.Not.Contain("\u001b[3J"), "no clear screen (2J) and no clear scrollback (3J)");
        // Every frame after the first moves back over the previous one (CSI n F) and erases below (CSI J).
        Assert.That(System.Text.RegularExpressions.Regex.Matches(raw, @"\u001b\[\d+F\u001b\[J").Count, Is.GreaterThanOrEqualTo(1), raw);
        Assert.That(terminal.Screen, Does.Contain("live run").And.Contain("succeeded"));
    }
}
