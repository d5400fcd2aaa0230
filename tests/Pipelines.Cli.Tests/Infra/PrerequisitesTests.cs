using System.Diagnostics;
using Pipelines.Testing;

namespace Pipelines.Cli.Tests.Infra;

/// <summary>
/// infra/prerequisites.sh installs per command: the demo must not install the tests' Node packages. The script
/// runs for real in a scratch folder whose tests/node/package.json names a package that is not installed, with
/// npm, node, apt-get and sudo replaced by stubs that record their calls.
/// </summary>
public class PrerequisitesTests
{
    private string _dir = "";
    private string _calls = "";

    [SetUp]
    public void CreateScratchCheckout()
    {
        _dir = Directory.CreateTempSubdirectory("pipelines-prereq-").FullName;
        Directory.CreateDirectory(Path.Combine(_dir, "infra"));
        File.Copy(Path.Combine(TestPostgres.RepositoryRoot(), "infra", "prerequisites.sh"), Path.Combine(_dir, "infra", "prerequisites.sh"));
        Directory.CreateDirectory(Path.Combine(_dir, "tests", "node"));
        File.WriteAllText(Path.Combine(_dir, "tests", "node", "package.json"), """{ "dependencies": { "not-installed-here": "1.0.0" } }""");
        _calls = Path.Combine(_dir, "calls.log");
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "stubs")).FullName;
        foreach (var (name, exit) in new[] { ("npm", 0), ("node", 1), ("apt-get", 0), ("sudo", 0) })
        {
            var stub = Path.Combine(bin, name);
            File.WriteAllText(stub, $"#!/bin/sh\necho \"{name} $*\" >> '{_calls}'\nexit {exit}\n");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(stub, (UnixFileMode)0b111_101_101);
        }
    }

    [TearDown]
    public void Delete() => Directory.Delete(_dir, recursive: true);

    private (int Code, string Output, string Calls) Ensure(string function)
    {
        var psi = new ProcessStartInfo("bash", ["-c", $". infra/prerequisites.sh && {function} && echo finished"])
        {
            WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        psi.Environment["PATH"] = Path.Combine(_dir, "stubs") + ":" + Environment.GetEnvironmentVariable("PATH");
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, output.Result + error.Result, File.Exists(_calls) ? File.ReadAllText(_calls) : "");
    }

    [Test]
    public void DemoPrerequisites_DoNotTouchTheTestsNodePackages()
    {
        var (code, output, calls) = Ensure("ensure_demo_prerequisites");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("finished"));
        Assert.That(calls, Does.Not.Contain("npm").And.Not.Contain("node"), output);
    }

    [Test]
    public void TestPrerequisites_InstallTheMissingNodePackages()
    {
        // The node step alone: the full test set also fetches the MLflow server and builds the web UI, which the
        // scratch checkout does not hold.
        var (code, output, calls) = Ensure("ensure_test_node_packages");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(calls, Does.Contain("npm install --prefix tests/node"), "the stubs see what the step would have run: " + output);
    }

    [Test]
    public void TestPrerequisites_IncludeTheNodePackages()
    {
        var script = File.ReadAllText(Path.Combine(TestPostgres.RepositoryRoot(), "infra", "prerequisites.sh"));
        var body = script[script.IndexOf("ensure_test_prerequisites() {", StringComparison.Ordinal)..];
        body = body[..body.IndexOf("\n}", StringComparison.Ordinal)];
        Assert.That(body, Does.Contain("ensure_test_node_packages"));
    }

    [Test]
    public void TheDemoScript_AsksForTheDemoSetOnly()
    {
        var demo = File.ReadAllLines(Path.Combine(TestPostgres.RepositoryRoot(), "infra", "demo.sh")).Select(l => l.Trim()).ToList();
        Assert.That(demo, Does.Contain("ensure_demo_prerequisites"));
        Assert.That(demo, Has.None.Matches("^ensure_(test_)?prerequisites\\b"));
    }
}
