using System.Diagnostics;

namespace Pipelines.Postgres.Local;

/// <summary>
/// The account the private server runs under. PostgreSQL refuses to run as root, so when we are root
/// (as in CI) the server runs as the system's <c>postgres</c> account through runuser.
/// </summary>
internal sealed class ServiceUser
{
    private readonly string? _user;

    private ServiceUser(string? user) => _user = user;

    public bool IsOtherUser => _user is not null;

    public static ServiceUser ForCurrentProcess()
    {
        if (OperatingSystem.IsWindows() || Environment.UserName != "root") return new ServiceUser(null);
        if (!File.ReadAllLines("/etc/passwd").Any(l => l.StartsWith("postgres:", StringComparison.Ordinal)))
            throw new InvalidOperationException("running as root, and PostgreSQL refuses to run as root; the 'postgres' system user " +
                "(created by apt-get install postgresql) is needed to run the private server");
        return new ServiceUser("postgres");
    }

    public ProcessStartInfo Wrap(string file, IReadOnlyList<string> args)
    {
        var psi = new ProcessStartInfo(_user is null ? file : "runuser");
        if (_user is not null)
        {
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(_user);
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(file);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Whether the service user can create files under <paramref name="dir"/>.</summary>
    public bool CanReach(string dir)
    {
        if (_user is null) return true;
        var probe = Path.Combine(dir, "postgres");
        Directory.CreateDirectory(probe);
        var psi = Wrap("/usr/bin/test", ["-x", dir]);
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        return p.ExitCode == 0;
    }

    public async Task OwnAsync(string dir, CancellationToken ct)
    {
        if (_user is null) return;
        using var p = Process.Start(new ProcessStartInfo("chown", ["-R", $"{_user}:{_user}", dir]) { UseShellExecute = false })!;
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0) throw new InvalidOperationException($"chown of {dir} to {_user} failed");
    }
}
