using System.CommandLine;
using Pipelines.Cli;
using Pipelines.Cli.Commands;

namespace Pipelines.Cli.Tests.Commands;

public class ValidateCommandTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pipelines-validate-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string yaml)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    private static (int Exit, string Out, string Err) Run(params string[] files)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = ValidateCommand.Run(files, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private const string Good = """
        name: good
        steps:
          - id: a
            uses: log@1
            with: { message: hi }
        """;

    [Test]
    public void Run_PrintsOkAndExitsZero_WhenFileIsValid()
    {
        var good = Write("good.yaml", Good);
        var (exit, stdout, stderr) = Run(good);
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        Assert.That(stdout, Is.EqualTo($"{good}: ok{Environment.NewLine}"));
        Assert.That(stderr, Is.Empty);
    }

    [Test]
    public void Run_PrintsFileLineColumnKeyMessage_AndExitsTwo_WhenFileIsInvalid()
    {
        var bad = Write("bad.yaml", """
            name: bad
            steps:
              - id: a
                uses: log@1
                with: { message: "${{ params.nope }}" }
                neds: [b]
            """);
        var (exit, stdout, stderr) = Run(bad);
        Assert.That(exit, Is.EqualTo(ExitCodes.InvalidInput));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Is.EqualTo(
            $"{bad}:6:5: steps[0].neds: unknown key 'neds'; expected one of: id, uses, with, needs, if, retry, timeout, queue, for_each, cache{Environment.NewLine}"));
    }

    [Test]
    public void Run_ReportsValidationErrors_FromEveryFile_WithoutStopping()
    {
        var first = Write("first.yaml", """
            name: first
            steps:
              - { id: a, uses: log, with: { message: "${{ params.nope }}" } }
            """);
        var good = Write("good.yaml", Good);
        var second = Write("second.yaml", "name: second\nsteps:\n  - { id: a, uses: sleep }\n");
        var missing = Path.Combine(_dir, "missing.yaml");
        var (exit, stdout, stderr) = Run(first, good, second, missing);
        Assert.That(exit, Is.EqualTo(ExitCodes.InvalidInput));
        Assert.That(stdout, Is.EqualTo($"{good}: ok{Environment.NewLine}"));
        Assert.That(stderr.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[]
        {
            $"{first}:3:33: steps[0].with.message: unknown parameter 'nope'; no parameters are declared",
            $"{second}:3:5: steps[0].with: missing required input 'ms' for sleep@1",
            $"{missing}: file not found",
        }));
    }

    [Test]
    public void Command_IsRegistered_AndReturnsExitCodeThroughTheParser()
    {
        var bad = Write("bad.yaml", "name: bad\nsteps: []\n");
        var root = new RootCommand();
        foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
        var exit = root.Parse(["validate", bad]).Invoke(new InvocationConfiguration { Output = new StringWriter(), Error = new StringWriter() });
        Assert.That(exit, Is.EqualTo(ExitCodes.InvalidInput));
    }
}
