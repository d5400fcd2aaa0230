using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Pipelines.Server.Tests;

/// <summary><c>pipelines remote</c> as a real process against the real server: no database access, only a token.</summary>
public class RemoteCliTests
{
    [Test]
    public async Task RemoteCli_StartsListsShowsRuns_AndDecidesApprovals()
    {
        await using var server = await ServerHarness.StartAsync();
        await server.CreateWorkflowAsync(Workflows.Hello);
        await server.CreateWorkflowAsync(Workflows.Gated);
        await server.StartWorkersAsync();
        var url = server.BaseAddress.ToString();
        var operatorToken = server.Token("olga", ["operator"]);

        var (code, output) = await RunAsync(operatorToken, "remote", "runs", "start", "hello", "-p", "count=2", "--server", url);
        Assert.That(code, Is.EqualTo(0), output);
        var id = Guid.Parse(output.Trim().Split('\n')[^1]);
        await server.WaitForRunAsync(id, r => r["state"]!.GetValue<string>() == "succeeded", "the remotely started run to succeed");
        Assert.That((await server.GetJsonAsync(server.As("vera", "viewer"), $"/api/v1/runs/{id}"))["params"]!["count"]!.GetValue<int>(), Is.EqualTo(2),
            "text parameters are converted to the declared type");

        (code, output) = await RunAsync(operatorToken, "remote", "runs", "list", "--workflow", "hello", "--server", url);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain(id.ToString()));
        (code, output) = await RunAsync(operatorToken, "remote", "runs", "show", id.ToString(), "--server", url);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("succeeded").And.Contain("greet"));

        (code, output) = await RunAsync(operatorToken, "remote", "runs", "start", "hello", "-p", "count=many", "--server", url);
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("count"));
        (code, output) = await RunAsync(null, "remote", "runs", "list", "--server", url);
        Assert.That(code, Is.EqualTo(6), "no token: refused");
        Assert.That(output, Does.Contain("401"));

        // Approvals: the starter is refused (four eyes), another approver decides.
        var gated = await server.StartRunAsync("gated", "alice");
        await server.WaitForRunAsync(gated, r => r["steps"]![0]!["state"]!.GetValue<string>() == "waiting", "the approval to wait");
        var approvalId = (await server.GetJsonAsync(server.As("bob", "approver"), "/api/v1/approvals"))["items"]![0]!["id"]!.GetValue<string>();
        (code, output) = await RunAsync(server.Token("bob", ["approver"]), "remote", "approvals", "list", "--server", url);
        Assert.That(output, Does.Contain(approvalId).And.Contain("yes"));
        (code, output) = await RunAsync(server.Token("alice", ["approver"]), "remote", "approvals", "approve", approvalId, "--server", url);
        Assert.That(code, Is.EqualTo(6), output);
        Assert.That(output, Does.Contain("four-eyes"));
        (code, output) = await RunAsync(server.Token("bob", ["approver"]), "remote", "approvals", "approve", approvalId, "-m", "ok", "--server", url);
        Assert.That(code, Is.EqualTo(0), output);
        await server.WaitForRunAsync(gated, r => r["state"]!.GetValue<string>() == "succeeded", "the approved run to succeed");
        (code, output) = await RunAsync(server.Token("bob", ["approver"]), "remote", "approvals", "approve", approvalId, "--server", url);
        Assert.That(code, Is.EqualTo(4), "already decided: conflict");
    }

    private static async Task<(int Code, string Output)> RunAsync(string? token, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipelines.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("PIPELINES_TOKEN");
        psi.Environment.Remove("PIPELINES_DB");
        if (token is not null) psi.Environment["PIPELINES_TOKEN"] = token;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout + await stderr);
    }
}
