using System.CommandLine;
using Pipelines.Engine.Storage;

namespace Pipelines.Cli.Hosting;

public static class CommonOptions
{
    public static Option<string?> Database() => new("--db")
    {
        Description = "PostgreSQL connection string (default: PIPELINES_DB, pipelines.json, or the private local server).",
    };

    public static Option<string> User() => new("--user")
    {
        Description = "Who is acting (recorded with runs and decisions).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("PIPELINES_USER") is { Length: > 0 } u ? u : Environment.UserName,
    };

    /// <summary>Maps the engine's exceptions to exit codes with one readable line on stderr.</summary>
    public static async Task<int> GuardAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (NotFoundException e) { return Fail(ExitCodes.NotFound, e.Message); }
        catch (ConflictException e) { return Fail(ExitCodes.Conflict, e.Message); }
        catch (PolicyException e) { return Fail(ExitCodes.Forbidden, e.Message); }
        catch (Pipelines.Core.Validation.WorkflowValidationException e) { return Fail(ExitCodes.InvalidInput, e.Message); }
        catch (SettingException e) { return Fail(ExitCodes.InvalidInput, e.Message); }
        catch (Npgsql.NpgsqlException e) { return Fail(ExitCodes.Unavailable, $"database unavailable: {e.Message}"); }
    }

    private static int Fail(int code, string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return code;
    }

    public static Guid ParseRunId(string text) =>
        Guid.TryParse(text, out var id) ? id : throw new NotFoundException($"'{text}' is not a run id");
}
