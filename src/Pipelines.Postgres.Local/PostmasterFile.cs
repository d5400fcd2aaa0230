namespace Pipelines.Postgres.Local;

/// <summary>
/// Reads <c>postmaster.pid</c>, which a running PostgreSQL keeps in its data folder: line 1 the server's process id,
/// line 4 its port, line 8 its state (<c>ready</c> once it accepts connections). A crashed server leaves the file
/// behind, so the process must also still exist and be PostgreSQL.
/// </summary>
public static class PostmasterFile
{
    /// <summary>True when the file says a live server accepts connections on <paramref name="port"/>; false when unsure.</summary>
    public static bool IsReady(string dataDir, int port)
    {
        try
        {
            var path = Path.Combine(dataDir, "postmaster.pid");
            if (!File.Exists(path)) return false;
            return Parse(File.ReadAllLines(path)) is { } state && state.Port == port && state.Ready && IsPostgresProcess(state.Pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public sealed record State(int Pid, int Port, bool Ready);

    public static State? Parse(IReadOnlyList<string> lines)
    {
        if (lines.Count < 8 || !int.TryParse(lines[0].Trim(), out var pid) || !int.TryParse(lines[3].Trim(), out var port)) return null;
        return new State(pid, port, lines[7].Trim() == "ready");
    }

    private static bool IsPostgresProcess(int pid)
    {
        // /proc tells whether the id still belongs to PostgreSQL (ids are reused); elsewhere, do not guess.
        var comm = $"/proc/{pid}/comm";
        return File.Exists(comm) && File.ReadAllText(comm).Trim() is "postgres" or "postmaster";
    }
}
