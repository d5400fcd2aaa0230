using System.CommandLine;
using System.Text.Json;
using Pipelines.Cli.Hosting;
using Pipelines.Storage;
using Pipelines.Storage.Artifacts;
using Spectre.Console;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines artifacts list|show|lineage|model-lineage|put|get|gc</c>: the artifact registry, its lineage, and collection of what failed attempts left.</summary>
public static class ArtifactsCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Command Create()
    {
        var command = new Command("artifacts", "Registered artifacts (datasets, models) and their lineage.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Lineage());
        command.Subcommands.Add(ModelLineage());
        command.Subcommands.Add(Put());
        command.Subcommands.Add(Get());
        command.Subcommands.Add(Gc());
        return command;
    }

    private static Argument<string> ArtifactArg() => new("artifact") { Description = "Artifact id or URI." };
    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON." };

    private static Command List()
    {
        var run = new Option<string?>("--run") { Description = "Only artifacts produced by this run." };
        var kind = new Option<string?>("--kind") { Description = "table, model or file." };
        var sha = new Option<string?>("--sha256") { Description = "Only artifacts with this content hash." };
        var limit = new Option<int>("--limit") { DefaultValueFactory = _ => 50 };
        var deleted = new Option<bool>("--include-deleted") { Description = "Also artifacts whose bytes artifact collection removed." };
        var json = JsonOption();
        var db = CommonOptions.Database();
        var command = new Command("list", "List artifacts, newest first.") { run, kind, sha, limit, deleted, json, db };
        command.SetAction((parse, ct) => GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            Guid? runId = parse.GetValue(run) is { } r ? CommonOptions.ParseRunId(r) : null;
            var items = await engine.ArtifactRegistry.ListAsync(new ArtifactFilter(runId, parse.GetValue(kind), parse.GetValue(sha), null, parse.GetValue(limit), parse.GetValue(deleted)), ct);
            if (parse.GetValue(json)) { Console.WriteLine(JsonSerializer.Serialize(items, Json)); return ExitCodes.Ok; }
            var table = new Table().AddColumns("artifact", "kind", "name", "size", "rows", "sha256", "produced by", "created");
            foreach (var a in items)
                table.AddRow(a.Id.ToString(), a.Kind, Markup.Escape((a.Name ?? "") + (a.DeletedAt is null ? "" : " (deleted)")), Size(a.Size), a.RowCount?.ToString("N0") ?? "", a.Sha256[..12],
                    Markup.Escape(Producer(a.Producer)), a.CreatedAt.ToString("u"));
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show()
    {
        var artifact = ArtifactArg();
        var json = JsonOption();
        var db = CommonOptions.Database();
        var command = new Command("show", "Show one artifact: location, hash, schema, producer and consumers.") { artifact, json, db };
        command.SetAction((parse, ct) => GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var a = await Find(engine, parse.GetValue(artifact)!, ct);
            var consumers = await engine.ArtifactRegistry.ConsumersAsync(a.Id, ct);
            if (parse.GetValue(json)) { Console.WriteLine(JsonSerializer.Serialize(new { artifact = a, consumers }, Json)); return ExitCodes.Ok; }
            Describe(a);
            if (a.SchemaJson is not null)
            {
                var schema = new Table().AddColumns("column", "type", "nullable");
                foreach (var col in JsonDocument.Parse(a.SchemaJson).RootElement.EnumerateArray())
                    schema.AddRow(Markup.Escape(col.GetProperty("name").GetString() ?? ""), Markup.Escape(col.GetProperty("type").GetString() ?? ""), col.GetProperty("nullable").GetBoolean() ? "yes" : "no");
                AnsiConsole.Write(schema);
            }
            WriteConsumers(consumers);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Lineage()
    {
        var artifact = ArtifactArg();
        var json = JsonOption();
        var db = CommonOptions.Database();
        var command = new Command("lineage", "What produced an artifact (and from which inputs, transitively) and which runs consumed it.") { artifact, json, db };
        command.SetAction((parse, ct) => GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var a = await Find(engine, parse.GetValue(artifact)!, ct);
            var upstream = await engine.ArtifactRegistry.UpstreamAsync(a.Id, ct);
            var consumers = await engine.ArtifactRegistry.ConsumersAsync(a.Id, ct);
            if (parse.GetValue(json)) { Console.WriteLine(JsonSerializer.Serialize(new { artifact = a, upstream, consumers }, Json)); return ExitCodes.Ok; }
            Describe(a);
            var tree = new Tree($"[bold]{Markup.Escape(a.Name ?? a.Uri)}[/] ← {Markup.Escape(Producer(a.Producer))}");
            AddInputs(tree, a, upstream, 1);
            AnsiConsole.Write(tree);
            WriteConsumers(consumers);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void AddInputs(IHasTreeNodes node, ArtifactRecord of, IReadOnlyList<LineageEntry> upstream, int depth)
    {
        if (of.Producer is not { } p || depth > 50) return;
        foreach (var input in upstream.Where(u => u.ConsumedBy.StepRunId == p.StepRunId && u.ConsumedBy.Attempt == p.Attempt).OrderBy(u => u.InputName, StringComparer.Ordinal))
        {
            var child = node.AddNode($"{Markup.Escape(input.InputName)}: [bold]{Markup.Escape(input.Artifact.Name ?? input.Artifact.Uri)}[/] {input.Artifact.Id} ← {Markup.Escape(Producer(input.Artifact.Producer))}");
            AddInputs(child, input.Artifact, upstream, depth + 1);
        }
    }

    private static Command ModelLineage()
    {
        var artifact = ArtifactArg();
        var json = JsonOption();
        var db = CommonOptions.Database();
        var command = new Command("model-lineage", "What data and code trained a model: every upstream dataset, workflow versions (content hash), activity versions, and the events that triggered its runs.") { artifact, json, db };
        command.SetAction((parse, ct) => GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var a = await Find(engine, parse.GetValue(artifact)!, ct);
            var lineage = await engine.ArtifactRegistry.ModelLineageAsync(a.Id, ct);
            // Runs that a declared trigger started name their event: the model goes back to the alert, upstream run or
            // file that started its training.
            var triggers = new List<(Guid Run, string Workflow, Pipelines.Engine.Model.RunTriggerView By)>();
            foreach (var (runId, workflow) in lineage.Code.Select(c => (c.RunId, c.Workflow)).Distinct())
                if (await engine.Store.GetTriggeredByAsync(runId, ct) is { } by) triggers.Add((runId, workflow, by));
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    model = lineage.Model,
                    data = lineage.Data,
                    sources = lineage.Sources,
                    code = new
                    {
                        workflows = lineage.WorkflowVersions.Select(w => new { workflow = w.Workflow, content_hash = w.ContentHash }),
                        activities = lineage.Activities,
                        steps = lineage.Code,
                    },
                    triggers = triggers.Select(t => new
                    {
                        run = t.Run, workflow = t.Workflow,
                        triggered_by = new { kind = t.By.Kind, source = t.By.Source, occurred_at = t.By.OccurredAt, @event = t.By.Event, deduplicated = t.By.Deduplicated },
                    }),
                }, Json));
                return ExitCodes.Ok;
            }
            Describe(a);
            AnsiConsole.MarkupLine("[bold]data[/]");
            var data = new Table().AddColumns("depth", "input", "artifact", "name", "rows", "sha256", "produced by");
            foreach (var d in lineage.Data)
                data.AddRow(d.Depth.ToString(), Markup.Escape(d.InputName), d.Artifact.Id.ToString(), Markup.Escape(d.Artifact.Name ?? ""),
                    d.Artifact.RowCount?.ToString("N0") ?? "", d.Artifact.Sha256[..12], Markup.Escape(Producer(d.Artifact.Producer)));
            AnsiConsole.Write(data);
            AnsiConsole.MarkupLine("[bold]code[/]");
            var code = new Table().AddColumns("run", "workflow", "workflow hash", "step", "activity", "attempt");
            foreach (var c in lineage.Code)
                code.AddRow(c.RunId.ToString(), Markup.Escape(c.Workflow), c.WorkflowContentHash, Markup.Escape(c.StepId + (c.ItemIndex is { } i ? $"[{i}]" : "")),
                    Markup.Escape($"{c.ActivityKind}@{c.ActivityVersion}"), c.Attempt.ToString());
            AnsiConsole.Write(code);
            foreach (var t in triggers)
                AnsiConsole.MarkupLine($"run {t.Run} ({Markup.Escape(t.Workflow)}) was triggered by {Markup.Escape(t.By.Describe())}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Put()
    {
        var file = new Argument<string>("file") { Description = "Local file to publish." };
        var kind = new Option<string?>("--kind") { Description = "table, model or file (default: table for Parquet, else file)." };
        var name = new Option<string?>("--name") { Description = "Artifact name (default: the file name)." };
        var mediaType = new Option<string?>("--media-type");
        var db = CommonOptions.Database();
        var command = new Command("put", "Upload a local file to the artifact store (content-addressed) and register it.") { file, kind, name, mediaType, db };
        command.SetAction((parse, ct) => GuardAsync(async () =>
        {
            var path = parse.GetValue(file)!;
            if (!File.Exists(path)) throw new ArtifactNotFoundException(path);
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var publisher = new ArtifactPublisher(engine.Artifacts, engine.ArtifactRegistry);
            var a = await publisher.PublishFileAsync(path, new PublishOptions { Kind = parse.GetValue(kind), Name = parse.GetValue(name), MediaType = parse.GetValue(mediaType) }, ct);
            Console.WriteLine(a.Id);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Get()
    {
        var artifact = ArtifactArg();
        var output = new Option<string>("--output", "-o") { Description = "Where to write the bytes.", Required = true };
        var db = CommonOptions.Database();
        var command = new Command("get", "Download an artifact from the store, verifying its SHA-256.") { artifact, output, db };
        command.SetAction((parse, ct) => GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var a = await Find(engine, parse.GetValue(artifact)!, ct);
            if (a.DeletedAt is { } gone)
                throw new ArtifactNotFoundException($"{a.Uri} (artifact {a.Id}): its bytes were removed by artifact collection at {gone:u}, as an output of an attempt that did not succeed");
            var key = ArtifactStores.KeyOf(engine.Artifacts, a.Uri)
                      ?? throw new ArtifactStoreException($"{a.Uri} is not in the configured store ({engine.Artifacts.Location}); set PIPELINES_ARTIFACTS");
            var target = parse.GetValue(output)!;
            var temp = target + ".partial";
            try
            {
                await using (var source = await engine.Artifacts.OpenReadAsync(key, null, ct))
                await using (var file = File.Create(temp))
                {
                    var (sha, _) = await CopyHashingAsync(source, file, ct);
                    if (sha != a.Sha256) throw new ArtifactIntegrityException($"{a.Uri}: SHA-256 mismatch (registered {a.Sha256}, downloaded {sha})");
                }
                File.Move(temp, target, overwrite: true);
            }
            finally { File.Delete(temp); }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Gc()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be removed; remove nothing." };
        var olderThan = new Option<string>("--older-than")
        {
            Description = "Grace period: only attempts that ended (and leftover files written) longer ago than this.", DefaultValueFactory = _ => "24h",
        };
        var json = JsonOption();
        var db = CommonOptions.Database();
        var command = new Command("gc",
            "Remove from the store what attempts that did not succeed left behind: their outputs nothing kept refers to, and files they never registered.")
            { dryRun, olderThan, json, db };
        command.SetAction((parse, ct) => GuardAsync(async () =>
        {
            var grace = Pipelines.Core.Definitions.Durations.Parse(parse.GetValue(olderThan)!);
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var report = await engine.ArtifactCollector.CollectAsync(new CollectionOptions { OlderThan = grace, DryRun = parse.GetValue(dryRun) }, ct);
            if (parse.GetValue(json)) { Console.WriteLine(JsonSerializer.Serialize(report, Json)); return ExitCodes.Ok; }
            var verb = report.DryRun ? "would remove" : "removed";
            if (report.Removed.Count > 0)
            {
                var table = new Table().AddColumns("key", "size", "artifact", "run", "step", "attempt");
                foreach (var r in report.Removed)
                    table.AddRow(Markup.Escape(r.Key), Size(r.Size), r.ArtifactId?.ToString() ?? "unregistered", r.Attempt.RunId.ToString(),
                        Markup.Escape(r.Attempt.StepId + (r.Attempt.ItemIndex is { } i ? $"[{i}]" : "")), $"{r.Attempt.Attempt.Attempt} ({r.Attempt.State})");
                AnsiConsole.Write(table);
            }
            Console.WriteLine($"{verb} {report.Removed.Count} object(s), {Size(report.RemovedBytes)}, from {report.Attempts} attempt(s) that did not succeed and ended before {report.Cutoff:u}; " +
                              $"kept {report.Kept} still referenced; deferred {report.Deferred} written within the grace period");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static async Task<(string Sha256, long Size)> CopyHashingAsync(Stream from, Stream to, CancellationToken ct)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long size = 0;
        int n;
        while ((n = await from.ReadAsync(buffer, ct)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            await to.WriteAsync(buffer.AsMemory(0, n), ct);
            size += n;
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    private static async Task<ArtifactRecord> Find(EngineContext engine, string idOrUri, CancellationToken ct) =>
        await engine.ArtifactRegistry.FindAsync(idOrUri, ct) ?? throw new ArtifactNotFoundException(idOrUri);

    private static void Describe(ArtifactRecord a)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(a.Name ?? "")}[/] {a.Id} ({a.Kind}, {Markup.Escape(a.MediaType)})");
        AnsiConsole.MarkupLine($"uri      {Markup.Escape(Redaction.Redact(a.Uri))}");
        AnsiConsole.MarkupLine($"sha256   {a.Sha256}");
        AnsiConsole.MarkupLine($"size     {Size(a.Size)}" + (a.RowCount is { } rows ? $", {rows:N0} rows" : ""));
        AnsiConsole.MarkupLine($"created  {a.CreatedAt:u}");
        if (a.DeletedAt is { } gone) AnsiConsole.MarkupLine($"deleted  {gone:u} (bytes removed by artifact collection: its attempt did not succeed)");
        AnsiConsole.MarkupLine($"producer {Markup.Escape(Producer(a.Producer))}" +
                               (a.Producer is { } p ? $" — run {p.RunId}, workflow {Markup.Escape(p.Workflow)} @ {p.WorkflowContentHash[..Math.Min(12, p.WorkflowContentHash.Length)]}" : ""));
    }

    private static void WriteConsumers(IReadOnlyList<ArtifactConsumer> consumers)
    {
        if (consumers.Count == 0) { AnsiConsole.MarkupLine("consumed by: nothing yet"); return; }
        var table = new Table().AddColumns("consumed by run", "workflow", "step", "input", "attempt", "attempt state", "run state");
        foreach (var c in consumers)
            table.AddRow(c.RunId.ToString(), Markup.Escape(c.Workflow), Markup.Escape(c.StepId + (c.ItemIndex is { } i ? $"[{i}]" : "")),
                Markup.Escape(c.InputName), c.Attempt.ToString(), c.AttemptState, c.RunState);
        AnsiConsole.Write(table);
    }

    private static string Producer(ProducerInfo? p) =>
        p is null ? "registered by hand" : $"{p.StepId}{(p.ItemIndex is { } i ? $"[{i}]" : "")} ({p.ActivityKind}@{p.ActivityVersion}) attempt {p.Attempt}" +
                                           (p.AttemptState is null or "succeeded" ? "" : $" ({p.AttemptState}; not used downstream)");

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1 << 20 => $"{bytes / 1024.0:0.#} KiB",
        < 1 << 30 => $"{bytes / 1048576.0:0.#} MiB",
        _ => $"{bytes / 1073741824.0:0.##} GiB",
    };

    /// <summary>The engine's exit codes, plus the store's errors: not found 3, exists/conflict 4, unreachable 5, corrupted 1.</summary>
    private static async Task<int> GuardAsync(Func<Task<int>> action)
    {
        try
        {
            return await CommonOptions.GuardAsync(action);
        }
        catch (ArtifactNotFoundException e) { return Fail(ExitCodes.NotFound, e.Message); }
        catch (Exception e) when (e is ArtifactExistsException or ArtifactConflictException) { return Fail(ExitCodes.Conflict, e.Message); }
        catch (ArtifactIntegrityException e) { return Fail(ExitCodes.RunNotSucceeded, e.Message); }
        catch (Pipelines.Storage.Azure.BlobRequestException e) { return Fail(e.Status is 401 or 403 ? ExitCodes.Forbidden : ExitCodes.Unavailable, e.Message); }
        catch (ArtifactStoreException e) { return Fail(ExitCodes.Unavailable, e.Message); }
        catch (FormatException e) { return Fail(ExitCodes.InvalidInput, Redaction.Redact(e.Message)); }
    }

    private static int Fail(int code, string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return code;
    }
}
