using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Pipelines.Postgres.Local;

/// <summary>
/// A private PostgreSQL server for one machine: created with initdb in a state folder on first use, bound to
/// a free loopback port, started on demand and reused by later processes. Several processes may call
/// <see cref="EnsureStartedAsync"/> at once; a lock file serialises them.
/// </summary>
public sealed partial class LocalPostgres
{
    private const string SuperUser = "pipelines";
    private readonly string _stateDir;
    private readonly bool _durable;
    private readonly Action<string> _log;

    /// <param name="stateDir">Folder for the cluster, its log and its credentials (kept out of version control).</param>
    /// <param name="durable">False turns off fsync: for throwaway test clusters only.</param>
    public LocalPostgres(string stateDir, bool durable = true, Action<string>? log = null)
    {
        _stateDir = Path.GetFullPath(stateDir);
        _durable = durable;
        _log = log ?? (_ => { });
    }

    public string StateDirectory => _stateDir;
    private string InfoPath => Path.Combine(_stateDir, "postgres.json");

    /// <summary>Provisions and starts the server if needed; returns a connection string to database <paramref name="database"/>.</summary>
    public async Task<string> EnsureStartedAsync(string database = "pipelines", CancellationToken ct = default)
    {
        // Every command after the first finds the server up: say so from two small files instead of spawning pg_ctl
        // and opening two connections (a third of a short command's time went there).
        if (LoadInfo() is { } known && known.Databases?.Contains(database) == true && PostmasterFile.IsReady(known.DataDir, known.Port))
            return ConnectionString(known, database);

        Directory.CreateDirectory(_stateDir);
        using var _ = await AcquireLockAsync(ct);
        var bin = PostgresBinaries.Locate();
        var info = LoadInfo() ?? CreateInfo();
        var runAs = ServiceUser.ForCurrentProcess();

        if (!File.Exists(Path.Combine(info.DataDir, "PG_VERSION")))
            await InitDbAsync(bin, info, runAs, ct);

        if (!await IsRunningAsync(bin, info, runAs, ct))
        {
            if (!await TryStartAsync(bin, info, runAs, ct))
            {
                // The remembered port may have been taken by another program since; pick a new one once.
                info = info with { Port = FreePort() };
                SaveInfo(info);
                if (!await TryStartAsync(bin, info, runAs, ct))
                    throw new InvalidOperationException(
                        $"could not start the local PostgreSQL in {info.DataDir}; see its log at {LogPath(info)}");
            }
        }

        // Unpooled: after a server restart a pooled connection of this process would be dead.
        var admin = new NpgsqlConnectionStringBuilder(ConnectionString(info, "postgres")) { Pooling = false }.ConnectionString;
        await using (var conn = new NpgsqlConnection(admin))
        {
            await conn.OpenAsync(ct);
            await using var check = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @d", conn);
            check.Parameters.AddWithValue("d", database);
            if (await check.ExecuteScalarAsync(ct) is null)
            {
                try
                {
                    await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.Replace("\"", "\"\"")}\"", conn);
                    await create.ExecuteNonQueryAsync(ct);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase) { }
            }
        }
        if (info.Databases?.Contains(database) != true)
            SaveInfo(info with { Databases = [.. info.Databases ?? [], database] });
        return ConnectionString(info, database);
    }

    /// <summary>Stops the server (fast shutdown). Used by tests that restart PostgreSQL mid-run.</summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        var info = LoadInfo() ?? throw new InvalidOperationException("no local PostgreSQL has been provisioned here");
        await RunAsync(PostgresBinaries.Locate().PgCtl, ["stop", "-D", info.DataDir, "-m", "fast", "-w"], ServiceUser.ForCurrentProcess(), ct);
    }

    /// <summary>What <c>pipelines local status</c> shows: whether a server was provisioned here, and whether it runs.</summary>
    public sealed record Status(bool Provisioned, bool Running, int? Pid, string? DataDirectory, int? Port, string? LogFile);

    /// <summary>Reads the server's state without starting or creating anything.</summary>
    public async Task<Status> GetStatusAsync(CancellationToken ct = default)
    {
        var info = LoadInfo();
        if (info is null || !File.Exists(Path.Combine(info.DataDir, "PG_VERSION")))
            return new Status(false, false, null, info?.DataDir, info?.Port, null);
        var (code, output) = await RunAsync(PostgresBinaries.Locate().PgCtl, ["status", "-D", info.DataDir], ServiceUser.ForCurrentProcess(), ct, throwOnError: false);
        // pg_ctl status prints "server is running (PID: 1234)" and exits 0; 3 when not running.
        var pid = System.Text.RegularExpressions.Regex.Match(output, @"PID: (\d+)") is { Success: true } m ? int.Parse(m.Groups[1].Value) : (int?)null;
        return new Status(true, code == 0, code == 0 ? pid : null, info.DataDir, info.Port, LogPath(info));
    }

    /// <summary>
    /// Stops the server if it runs (fast shutdown: open sessions are disconnected, committed work is kept), under
    /// the same lock as <see cref="EnsureStartedAsync"/> so a concurrent start is not cut short.
    /// </summary>
    /// <returns>True when a running server was stopped.</returns>
    public async Task<bool> StopIfRunningAsync(CancellationToken ct = default)
    {
        if (!Directory.Exists(_stateDir) || LoadInfo() is not { } info) return false;
        using var _ = await AcquireLockAsync(ct);
        var bin = PostgresBinaries.Locate();
        var runAs = ServiceUser.ForCurrentProcess();
        var (code, _) = await RunAsync(bin.PgCtl, ["status", "-D", info.DataDir], runAs, ct, throwOnError: false);
        if (code != 0) return false;
        await RunAsync(bin.PgCtl, ["stop", "-D", info.DataDir, "-m", "fast", "-w"], runAs, ct);
        return true;
    }

    public string AdminConnectionString() => ConnectionString(LoadInfo() ?? throw new InvalidOperationException("not provisioned"), "postgres");

    private static string ConnectionString(ClusterInfo info, string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = info.Port,
        Username = SuperUser,
        Password = info.Password,
        Database = database,
        MaxPoolSize = 50,
        // A restarted server invalidates pooled connections; Npgsql then opens new ones.
        KeepAlive = 10,
    }.ConnectionString;

    private async Task InitDbAsync(PostgresBinaries bin, ClusterInfo info, ServiceUser runAs, CancellationToken ct)
    {
        _log($"initialising a private PostgreSQL in {info.DataDir}");
        if (Directory.Exists(info.DataDir)) Directory.Delete(info.DataDir, recursive: true);
        var parent = Path.GetDirectoryName(info.DataDir)!;
        Directory.CreateDirectory(parent);
        var pwFile = Path.Combine(parent, $"pw-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(pwFile, info.Password, ct);
        try
        {
            await runAs.OwnAsync(parent, ct);
            await RunAsync(bin.InitDb, ["-D", info.DataDir, "-U", SuperUser, "--pwfile", pwFile, "-A", "scram-sha-256",
                "-E", "UTF8", "--no-locale", "--no-sync"], runAs, ct);
        }
        finally
        {
            File.Delete(pwFile);
        }
    }

    private async Task<bool> IsRunningAsync(PostgresBinaries bin, ClusterInfo info, ServiceUser runAs, CancellationToken ct)
    {
        var (code, _) = await RunAsync(bin.PgCtl, ["status", "-D", info.DataDir], runAs, ct, throwOnError: false);
        if (code != 0) return false;
        // Running, but perhaps on another port than recorded (e.g. state copied around): trust a connection test.
        try
        {
            await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString(info, "postgres")) { Pooling = false }.ConnectionString);
            await conn.OpenAsync(ct);
            return true;
        }
        catch (NpgsqlException)
        {
            await RunAsync(bin.PgCtl, ["stop", "-D", info.DataDir, "-m", "fast", "-w"], runAs, ct, throwOnError: false);
            return false;
        }
    }

    private async Task<bool> TryStartAsync(PostgresBinaries bin, ClusterInfo info, ServiceUser runAs, CancellationToken ct)
    {
        // Commit timestamps let the server record when each live event's change committed (events.committed_at),
        // which the server benchmark measures delivery from.
        var settings = new StringBuilder($"-p {info.Port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=300 -c track_commit_timestamp=on");
        if (!_durable) settings.Append(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        _log($"starting the private PostgreSQL on 127.0.0.1:{info.Port}");
        var (code, output) = await RunAsync(bin.PgCtl, ["start", "-D", info.DataDir, "-w", "-t", "60", "-l", LogPath(info), "-o", settings.ToString()],
            runAs, ct, throwOnError: false);
        if (code != 0) _log($"pg_ctl start failed ({code}): {output.Trim()}");
        return code == 0;
    }

    private static string LogPath(ClusterInfo info) => Path.Combine(Path.GetDirectoryName(info.DataDir)!, "postgres.log");

    // Read through JsonDocument rather than the serializer: every command reads this file first, and even the
    // source-generated serializer builds its metadata for this one record (about 70 methods JIT-compiled, some 15 ms
    // of a 0.35 s `runs list`). Written by SaveInfo below, so the shape is known; anything else is named as broken.
    private ClusterInfo? LoadInfo()
    {
        if (!File.Exists(InfoPath)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(InfoPath));
            var root = doc.RootElement;
            string[]? databases = null;
            if (root.TryGetProperty(nameof(ClusterInfo.Databases), out var list) && list.ValueKind == JsonValueKind.Array)
            {
                databases = new string[list.GetArrayLength()];
                var i = 0;
                foreach (var name in list.EnumerateArray()) databases[i++] = name.GetString() ?? throw new FormatException("a database name is null");
            }
            return new ClusterInfo(Field(root, nameof(ClusterInfo.DataDir)).GetString() ?? throw new FormatException("'DataDir' is null"),
                Field(root, nameof(ClusterInfo.Port)).GetInt32(),
                Field(root, nameof(ClusterInfo.Password)).GetString() ?? throw new FormatException("'Password' is null"),
                databases);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidOperationException($"{InfoPath}: not a valid description of the private PostgreSQL ({e.Message}); "
                + "fix it, or remove it to have a new server provisioned", e);
        }

        static JsonElement Field(JsonElement root, string name) =>
            root.TryGetProperty(name, out var value) ? value : throw new FormatException($"'{name}' is missing");
    }

    private void SaveInfo(ClusterInfo info)
    {
        var tmp = InfoPath + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(info, InfoJson.Default.ClusterInfo));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, InfoPath, overwrite: true);
    }

    private ClusterInfo CreateInfo()
    {
        var info = new ClusterInfo(DataDirFor(ServiceUser.ForCurrentProcess()), FreePort(),
            Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)));
        SaveInfo(info);
        return info;
    }

    private string DataDirFor(ServiceUser runAs)
    {
        var preferred = Path.Combine(_stateDir, "postgres", "data");
        if (!runAs.IsOtherUser || runAs.CanReach(_stateDir)) return preferred;
        // PostgreSQL refuses to run as root, and the service user cannot reach this state folder
        // (e.g. under /root); keep the cluster in a folder it can reach, named after the state folder.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(_stateDir)))[..12];
        return Path.Combine("/var/tmp", $"pipelines-postgres-{hash}", "data");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<IDisposable> AcquireLockAsync(CancellationToken ct)
    {
        var path = Path.Combine(_stateDir, "postgres.lock");
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, ct);
            }
        }
    }

    internal static async Task<(int Code, string Output)> RunAsync(string file, IReadOnlyList<string> args, ServiceUser runAs,
        CancellationToken ct, bool throwOnError = true)
    {
        var psi = runAs.Wrap(file, args);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        // With -l, pg_ctl sends the server's output to its log file, so these pipes close when pg_ctl exits.
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var output = await stdout + await stderr;
        if (throwOnError && process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed ({process.ExitCode}): {output.Trim()}");
        return (process.ExitCode, output);
    }

    /// <param name="Databases">Databases known to exist (created by an earlier call); lets later calls skip the check.</param>
    private sealed record ClusterInfo(string DataDir, int Port, string Password, string[]? Databases = null);

    // Generated at build time: every command reads postgres.json first, and the reflection-based serializer spent
    // tens of milliseconds of a short command warming up for this one small record.
    [System.Text.Json.Serialization.JsonSerializable(typeof(ClusterInfo))]
    private sealed partial class InfoJson : System.Text.Json.Serialization.JsonSerializerContext;
}
