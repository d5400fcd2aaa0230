using System.CommandLine;
using Npgsql;
using Pipelines.Cli.Hosting;
using Pipelines.Core.Definitions;
using Pipelines.Postgres.Migrations;
using Pipelines.Postgres.Local;

namespace Pipelines.Cli.Commands;

/// <summary>
/// <c>pipelines migrate</c>: applies the schema migrations and exits. Every process migrates at start anyway; a
/// deployment runs this once before rolling out new servers and workers (a Kubernetes Job, a compose one-shot
/// service), so a migration that fails stops the rollout instead of crash-looping every new pod.
/// </summary>
public static class MigrateCommand
{
    public static Command Create()
    {
        var wait = new Option<string>("--wait")
        {
            Description = "How long to keep retrying while the database is unreachable (e.g. 60s; 0 = fail at once).",
            DefaultValueFactory = _ => "0s",
        };
        var db = CommonOptions.Database();
        var command = new Command("migrate", "Apply the database schema migrations and exit.") { wait, db };
        command.SetAction((parse, ct) => CommonOptions.GuardAsync(async () =>
        {
            if (!Durations.TryParse(parse.GetValue(wait), out var patience))
                throw new SettingException($"--wait '{parse.GetValue(wait)}': {Durations.Hint}");
            var cs = await DatabaseLocator.ResolveAsync(parse.GetValue(db), m => Console.Error.WriteLine(m), ct);
            await using var source = Pipelines.Postgres.PostgresDataSource.Create(cs);
            var applied = await ApplyWithRetryAsync(source, patience, ct);
            var newest = Migrator.NewestVersion;
            foreach (var m in applied) Console.WriteLine($"applied {m.Version:D4}_{m.Name}");
            Console.WriteLine(applied.Count == 0
                ? $"schema up to date at version {newest}"
                : $"schema migrated to version {newest} ({applied.Count} migration(s) applied)");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static async Task<IReadOnlyList<Migrator.Migration>> ApplyWithRetryAsync(NpgsqlDataSource source, TimeSpan patience, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + patience;
        for (var delay = TimeSpan.FromMilliseconds(250); ; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks)))
        {
            try
            {
                return await Migrator.ApplyAsync(source, ct);
            }
            catch (NpgsqlException e) when (DateTimeOffset.UtcNow + delay < deadline && IsUnreachable(e))
            {
                Console.Error.WriteLine($"database not reachable yet ({e.Message}); retrying");
                await Task.Delay(delay, ct);
            }
            catch (InvalidOperationException e) when (e.Message.StartsWith("migration ", StringComparison.Ordinal) || e.Message.StartsWith("the database is at schema version", StringComparison.Ordinal))
            {
                // A changed or newer-than-known schema: never "fixed" by retrying, and the rollout must stop.
                throw new Pipelines.Engine.Storage.ConflictException(e.Message);
            }
        }
    }

    // Connection-level failures only (refused, DNS, starting up, too many clients); an SQL error in a migration is not retried.
    private static bool IsUnreachable(NpgsqlException e) =>
        e is not PostgresException pg || pg.SqlState is "57P03" or "53300" or "57P01";
}
