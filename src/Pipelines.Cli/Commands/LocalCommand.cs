using System.CommandLine;
using Pipelines.Cli.Hosting;
using Pipelines.Postgres.Local;

namespace Pipelines.Cli.Commands;

/// <summary>
/// <c>pipelines local status|stop</c>: the private PostgreSQL server in the state folder keeps running after the
/// command that started it (later commands reuse it); these show it and stop it. Neither creates nor starts anything.
/// </summary>
public static class LocalCommand
{
    public static Command Create()
    {
        var command = new Command("local", "The private PostgreSQL server in the state folder (PIPELINES_HOME, default ./.pipelines).");

        var status = new Command("status", "Show whether the private PostgreSQL runs (exit 0) or not (exit 3), its port, process and log.");
        status.SetAction((_, ct) => CommonOptions.GuardAsync(async () =>
        {
            var state = DatabaseLocator.StateDirectory();
            var s = await new LocalPostgres(state).GetStatusAsync(ct);
            if (!s.Provisioned)
            {
                Console.WriteLine($"no private PostgreSQL in {Path.GetFullPath(state)}");
                return ExitCodes.NotFound;
            }
            Console.WriteLine(s.Running
                ? $"running: PostgreSQL on 127.0.0.1:{s.Port}, process {s.Pid}, data {s.DataDirectory}, log {s.LogFile}"
                : $"stopped: PostgreSQL with data in {s.DataDirectory} (started again by the next command that needs it)");
            return s.Running ? ExitCodes.Ok : ExitCodes.NotFound;
        }));
        command.Subcommands.Add(status);

        var stop = new Command("stop", "Stop the private PostgreSQL if it runs (data is kept; the next command that needs it starts it again).");
        stop.SetAction((_, ct) => CommonOptions.GuardAsync(async () =>
        {
            var state = DatabaseLocator.StateDirectory();
            Console.WriteLine(await new LocalPostgres(state).StopIfRunningAsync(ct)
                ? $"stopped the private PostgreSQL in {Path.GetFullPath(state)}"
                : $"no private PostgreSQL running in {Path.GetFullPath(state)}");
            return ExitCodes.Ok;
        }));
        command.Subcommands.Add(stop);
        return command;
    }
}
