using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Pipelines.Cli.Commands;

/// <summary>
/// <c>pipelines remote --server URL …</c>: runs and approvals through a Pipelines server's HTTP API, so operators need
/// no database access. The token (JWT or API key) comes from <c>--token</c> or, better, <c>PIPELINES_TOKEN</c>.
/// </summary>
public static class RemoteCommand
{
    public static Command Create()
    {
        var command = new Command("remote", "Talk to a Pipelines server (--server URL, token in PIPELINES_TOKEN) instead of the database.");
        var runs = new Command("runs", "Runs on the server.");
        runs.Subcommands.Add(ListRuns());
        runs.Subcommands.Add(ShowRun());
        runs.Subcommands.Add(StartRun());
        runs.Subcommands.Add(Control("cancel", "Cancel a run."));
        runs.Subcommands.Add(Control("retry", "Retry a run from its unsuccessful steps."));
        command.Subcommands.Add(runs);
        var approvals = new Command("approvals", "Approvals on the server.");
        approvals.Subcommands.Add(ListApprovals());
        approvals.Subcommands.Add(Decide("approve", true));
        approvals.Subcommands.Add(Decide("reject", false));
        command.Subcommands.Add(approvals);
        return command;
    }

    private static Option<string> Server() => new("--server")
    {
        Description = "The server's base URL (default: PIPELINES_SERVER).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("PIPELINES_SERVER") ?? "",
    };

    private static Option<string?> Token() => new("--token")
    {
        Description = "Bearer token or API key (default: PIPELINES_TOKEN; prefer the variable: arguments show in process lists).",
    };

    private static Command ListRuns()
    {
        var (server, token) = (Server(), Token());
        var workflow = new Option<string?>("--workflow") { Description = "Only runs of this workflow." };
        var state = new Option<string?>("--state") { Description = "Only runs in this state." };
        var limit = new Option<int>("--limit") { DefaultValueFactory = _ => 20 };
        var command = new Command("list", "List recent runs.") { server, token, workflow, state, limit };
        command.SetAction((parse, ct) => CallAsync(parse.GetValue(server)!, parse.GetValue(token), ct, async http =>
        {
            var query = $"/api/v1/runs?limit={parse.GetValue(limit)}"
                + (parse.GetValue(workflow) is { } w ? $"&workflow={Uri.EscapeDataString(w)}" : "")
                + (parse.GetValue(state) is { } s ? $"&state={Uri.EscapeDataString(s)}" : "");
            var body = await GetAsync(http, query, ct);
            var table = new Table().AddColumns("run", "workflow", "state", "by", "created", "finished");
            foreach (var r in body["items"]!.AsArray())
                table.AddRow(Text(r!["id"]), Markup.Escape(Text(r["workflow"])), Text(r["state"]), Markup.Escape(Text(r["startedBy"])),
                    Text(r["createdAt"]), Text(r["finishedAt"]));
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ShowRun()
    {
        var (server, token) = (Server(), Token());
        var run = new Argument<string>("run");
        var json = new Option<bool>("--json") { Description = "Print the server's JSON." };
        var command = new Command("show", "Show a run and its steps.") { server, token, run, json };
        command.SetAction((parse, ct) => CallAsync(parse.GetValue(server)!, parse.GetValue(token), ct, async http =>
        {
            var body = await GetAsync(http, $"/api/v1/runs/{Uri.EscapeDataString(parse.GetValue(run)!)}", ct);
            if (parse.GetValue(json))
            {
                Console.WriteLine(body.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return ExitCodes.Ok;
            }
            Console.WriteLine($"run {Text(body["id"])}: {Text(body["workflow"])} v{Text(body["version"])} {Text(body["state"])} (by {Text(body["startedBy"])})");
            if (body["error"] is { } error) Console.WriteLine($"error: {error}");
            var table = new Table().AddColumns("step", "uses", "state", "attempts", "items", "error");
            foreach (var s in body["steps"]!.AsArray())
                table.AddRow(Markup.Escape(Text(s!["id"])), Markup.Escape(Text(s["uses"])), Text(s["state"]), Text(s["attempts"]),
                    s["items"] is { } i ? $"{i["succeeded"]}/{i["total"]}" : "", Markup.Escape(Text(s["error"])));
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command StartRun()
    {
        var (server, token) = (Server(), Token());
        var workflow = new Argument<string>("workflow") { Description = "A workflow registered on the server." };
        var param = new Option<string[]>("--param", "-p") { Description = "Parameter as name=value (repeatable)." };
        var version = new Option<int?>("--version") { Description = "Workflow version (default: the current one)." };
        var command = new Command("start", "Start a run; prints its id.") { server, token, workflow, param, version };
        command.SetAction((parse, ct) => CallAsync(parse.GetValue(server)!, parse.GetValue(token), ct, async http =>
        {
            var text = new JsonObject();
            foreach (var (k, v) in RunCommand.ParseParams(parse.GetValue(param) ?? [])) text[k] = v;
            var request = new JsonObject { ["workflow"] = parse.GetValue(workflow), ["paramsText"] = text };
            if (parse.GetValue(version) is { } v2) request["version"] = v2;
            var body = await SendAsync(http, HttpMethod.Post, "/api/v1/runs", request, ct);
            Console.WriteLine(Text(body["id"]));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Control(string action, string description)
    {
        var (server, token) = (Server(), Token());
        var run = new Argument<string>("run");
        var command = new Command(action, description) { server, token, run };
        command.SetAction((parse, ct) => CallAsync(parse.GetValue(server)!, parse.GetValue(token), ct, async http =>
        {
            await SendAsync(http, HttpMethod.Post, $"/api/v1/runs/{Uri.EscapeDataString(parse.GetValue(run)!)}/{action}", null, ct);
            Console.WriteLine($"{action}: {parse.GetValue(run)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ListApprovals()
    {
        var (server, token) = (Server(), Token());
        var state = new Option<string>("--state") { Description = "waiting or decided.", DefaultValueFactory = _ => "waiting" };
        var command = new Command("list", "Approvals: those you may decide first.") { server, token, state };
        command.SetAction((parse, ct) => CallAsync(parse.GetValue(server)!, parse.GetValue(token), ct, async http =>
        {
            var body = await GetAsync(http, $"/api/v1/approvals?state={Uri.EscapeDataString(parse.GetValue(state)!)}", ct);
            var table = new Table().AddColumns("approval", "run", "workflow", "step", "requested by", "you may decide", "decision");
            foreach (var a in body["items"]!.AsArray())
                table.AddRow(Text(a!["id"]), Text(a["runId"]), Markup.Escape(Text(a["workflow"])), Markup.Escape(Text(a["step"])),
                    Markup.Escape(Text(a["requestedBy"])), a["canDecide"]!.GetValue<bool>() ? "yes" : Markup.Escape("no: " + Text(a["whyNot"])),
                    a["decision"] is { } d ? $"{(d["approved"]!.GetValue<bool>() ? "approved" : "rejected")} by {Markup.Escape(Text(d["by"]))}" : "");
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Decide(string verb, bool approved)
    {
        var (server, token) = (Server(), Token());
        var id = new Argument<string>("approval") { Description = "The approval id (from `remote approvals list`)." };
        var comment = new Option<string?>("--comment", "-m") { Description = "Why." };
        var command = new Command(verb, $"{(approved ? "Approve" : "Reject")} a waiting approval.") { server, token, id, comment };
        command.SetAction((parse, ct) => CallAsync(parse.GetValue(server)!, parse.GetValue(token), ct, async http =>
        {
            await SendAsync(http, HttpMethod.Post, $"/api/v1/approvals/{Uri.EscapeDataString(parse.GetValue(id)!)}/decision",
                new JsonObject { ["approved"] = approved, ["comment"] = parse.GetValue(comment) }, ct);
            Console.WriteLine($"{(approved ? "approved" : "rejected")} {parse.GetValue(id)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    /// <summary>An HTTP failure, carrying the server's problem detail and the exit code it maps to.</summary>
    private sealed class ApiException(int exitCode, string message) : Exception(message)
    {
        public int ExitCode { get; } = exitCode;
    }

    private static async Task<int> CallAsync(string server, string? token, CancellationToken ct, Func<HttpClient, Task<int>> action)
    {
        if (!Uri.TryCreate(server, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            Console.Error.WriteLine(string.IsNullOrEmpty(server) ? "error: --server URL (or PIPELINES_SERVER) is required" : $"error: --server '{server}' is not an http(s) URL");
            return ExitCodes.InvalidInput;
        }
        token ??= Environment.GetEnvironmentVariable("PIPELINES_TOKEN");
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(100) };
        if (!string.IsNullOrEmpty(token)) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            return await action(http);
        }
        catch (ApiException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"error: server unavailable: {e.Message}");
            return ExitCodes.Unavailable;
        }
    }

    private static Task<JsonObject> GetAsync(HttpClient http, string path, CancellationToken ct) => SendAsync(http, HttpMethod.Get, path, null, ct);

    private static async Task<JsonObject> SendAsync(HttpClient http, HttpMethod method, string path, JsonObject? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        JsonNode? json = null;
        try { json = text.Length == 0 ? null : JsonNode.Parse(text); } catch (JsonException) { }
        if (response.IsSuccessStatusCode) return json as JsonObject ?? new JsonObject();
        var detail = json?["detail"]?.GetValue<string>() ?? $"HTTP {(int)response.StatusCode}";
        var code = (int)response.StatusCode switch
        {
            400 or 413 or 422 => ExitCodes.InvalidInput,
            401 or 403 or 429 => ExitCodes.Forbidden,
            404 => ExitCodes.NotFound,
            409 => ExitCodes.Conflict,
            _ => ExitCodes.Unavailable,
        };
        throw new ApiException(code, $"{(int)response.StatusCode}: {detail}");
    }
}
