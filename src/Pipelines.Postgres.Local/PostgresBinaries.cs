namespace Pipelines.Postgres.Local;

/// <summary>Where initdb and pg_ctl live: on PATH, or in Debian's versioned folders.</summary>
internal sealed record PostgresBinaries(string InitDb, string PgCtl)
{
    public static PostgresBinaries Locate()
    {
        foreach (var dir in Candidates())
        {
            var initdb = Path.Combine(dir, "initdb");
            var pgctl = Path.Combine(dir, "pg_ctl");
            if (File.Exists(initdb) && File.Exists(pgctl)) return new PostgresBinaries(initdb, pgctl);
        }
        throw new InvalidOperationException(
            "PostgreSQL server programs (initdb, pg_ctl) were not found. Install them (Debian/Ubuntu: apt-get install postgresql) " +
            "or point PIPELINES_DB at an existing server's connection string.");
    }

    private static IEnumerable<string> Candidates()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            yield return dir;
        const string debian = "/usr/lib/postgresql";
        if (Directory.Exists(debian))
            foreach (var version in Directory.GetDirectories(debian).OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                yield return Path.Combine(version, "bin");
    }
}
