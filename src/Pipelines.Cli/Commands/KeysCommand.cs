using System.CommandLine;
using Pipelines.Api.Data;
using Pipelines.Api.Domain;
using Pipelines.Cli.Hosting;
using Pipelines.Core.Definitions;
using Spectre.Console;

namespace Pipelines.Cli.Commands;

/// <summary><c>pipelines keys create|list|revoke</c>: API keys for the server, managed directly in the database.</summary>
public static class KeysCommand
{
    public static Command Create()
    {
        var command = new Command("keys", "Manage API keys for the server (shown once at creation, stored hashed).");
        command.Subcommands.Add(CreateKey());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Revoke());
        return command;
    }

    private static Command CreateKey()
    {
        var name = new Option<string>("--name") { Description = "What the key is for (e.g. ci-nightly).", Required = true };
        var roles = new Option<string[]>("--role") { Description = "Role (viewer, operator, approver, admin); repeatable.", Required = true };
        var expires = new Option<string?>("--expires") { Description = "Lifetime, e.g. 90d or 12h (default: no expiry)." };
        var db = CommonOptions.Database();
        var user = CommonOptions.User();
        var command = new Command("create", "Create a key and print it once.") { name, roles, expires, db, user };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            var parsed = new List<Role>();
            foreach (var r in parse.GetValue(roles) ?? [])
                parsed.Add(Roles.TryParse(r, out var role) ? role : throw new SettingException($"--role: unknown role '{r}' (expected {string.Join(", ", Roles.All)})"));
            DateTimeOffset? expiry = null;
            if (parse.GetValue(expires) is { } e)
                expiry = DateTimeOffset.UtcNow + (Durations.TryParse(e, out var d) ? d : throw new SettingException($"--expires '{e}': {Durations.Hint}"));
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var (info, key) = await new KeyStore(engine.DataSource, TimeProvider.System).CreateAsync(parse.GetValue(name)!, parsed, expiry, parse.GetValue(user)!, ct);
            Console.Error.WriteLine($"key {info.Id} ({info.Name}: {string.Join(",", info.Roles)}{(expiry is null ? "" : $", expires {expiry:u}")}); it is shown only now:");
            Console.WriteLine(key);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List()
    {
        var db = CommonOptions.Database();
        var command = new Command("list", "List keys (never their secrets).") { db };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var table = new Table().AddColumns("id", "name", "roles", "created", "by", "expires", "revoked", "last used");
            foreach (var k in await new KeyStore(engine.DataSource, TimeProvider.System).ListAsync(ct))
                table.AddRow(k.Id.ToString(), Markup.Escape(k.Name), string.Join(",", k.Roles), k.CreatedAt.ToString("u"), Markup.Escape(k.CreatedBy),
                    k.ExpiresAt?.ToString("u") ?? "-", k.RevokedAt?.ToString("u") ?? "-", k.LastUsedAt?.ToString("u") ?? "-");
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var id = new Argument<string>("id");
        var db = CommonOptions.Database();
        var user = CommonOptions.User();
        var command = new Command("revoke", "Revoke a key at once.") { id, db, user };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            if (!Guid.TryParse(parse.GetValue(id), out var keyId)) throw new Pipelines.Engine.Storage.NotFoundException($"'{parse.GetValue(id)}' is not a key id");
            await using var engine = await EngineContext.OpenAsync(parse.GetValue(db), ct);
            var keys = new KeyStore(engine.DataSource, TimeProvider.System);
            if (!await keys.RevokeAsync(keyId, parse.GetValue(user)!, ct))
            {
                if (await keys.ExistsAsync(keyId, ct)) throw new Pipelines.Engine.Storage.ConflictException($"key {keyId} is already revoked");
                throw new Pipelines.Engine.Storage.NotFoundException($"key {keyId} not found");
            }
            Console.WriteLine($"revoked {keyId}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
