using System.Diagnostics;
using System.Globalization;
using System.Text;
using Pipelines.Storage;
using Pipelines.Storage.Azure;
using Pipelines.Storage.Local;
using Pipelines.Testing;

namespace Pipelines.Benchmarks.Storage;

/// <summary>
/// Upload and download throughput of one large file (default 1 GiB) through <see cref="IArtifactStore"/>:
/// to the local folder store and to Azure Blob on Azurite (started here on loopback, data on the same disk).
/// Every upload hashes SHA-256 and MD5 as it streams; every Azure download checks the blob's Content-MD5
/// and SHA-256. Downloads write to a file on the same disk.
/// </summary>
public sealed class StorageBenchmark : IBenchmark
{
    public string Name => "storage";
    public string Description => "artifact store upload/download throughput of a 1 GiB file: local folder and Azure Blob on Azurite";

    public async Task<int> RunAsync(string[] args, BenchmarkReport report)
    {
        var mib = args.Length > 0 && int.TryParse(args[0], out var m) ? m : 1024;
        var loadBefore = LoadAverage();
        var bytes = (long)mib << 20;
        var dir = Path.Combine(Path.GetTempPath(), $"pipelines-storage-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        var source = Path.Combine(dir, "source.bin");
        try
        {
            Console.Error.WriteLine($"writing a {mib} MiB source file…");
            WriteSource(source, bytes);

            var rows = new List<(string Store, string Setting, double Up, double Down)>();
            Console.Error.WriteLine("local folder store…");
            var local = new LocalFolderStore(Path.Combine(dir, "local-store"));
            rows.Add(("local folder", "1 MiB buffers", await UploadAsync(local, source), await DownloadAsync(local, Path.Combine(dir, "local-copy.bin"), bytes)));

            await using var azurite = await AzuriteServer.StartNewAsync(Path.Combine(dir, "azurite"));
            // The SDK store and the previous REST client alternate (A B B A) on each setting, so that a change in
            // the machine's load during the run falls on both alike.
            var run = 0;
            foreach (var (block, inFlight) in new[] { (8, 4), (16, 8) })
            {
                foreach (var legacy in new[] { true, false, false, true })
                {
                    var client = legacy ? "previous REST client" : "Azure.Storage.Blobs 12.30.1";
                    Console.Error.WriteLine($"Azure Blob on Azurite, {client}, {block} MiB blocks × {inFlight}…");
                    var connection = BlobConnection.Parse(azurite.ConnectionString($"bench{++run}"));
                    var options = new BlobClientOptions { BlockSize = block << 20, MaxBlocksInFlight = inFlight };
                    IArtifactStore azure = legacy ? new Legacy.LegacyAzureBlobStore(connection, options) : new AzureBlobStore(connection, options);
                    try
                    {
                        var load = LoadAverage().Split(' ')[0];
                        var up = await UploadAsync(azure, source);
                        var copy = Path.Combine(dir, "azure-copy.bin");
                        var down = await DownloadAsync(azure, copy, bytes);
                        File.Delete(copy);
                        rows.Add(($"Azure Blob, {client}", $"{block} MiB blocks, {inFlight} in flight (1-min load {load})", up, down));
                        await azure.DeleteAsync("bench/source.bin");
                    }
                    finally
                    {
                        ((IDisposable)azure).Dispose();
                    }
                }
            }

            double Rate(double s) => bytes / 1e6 / s;
            var md = new StringBuilder();
            md.AppendLine("## Artifact storage: Azure.Storage.Blobs vs the previous REST client (issue 12)");
            md.AppendLine();
            md.AppendLine($"Command: `dotnet run -c Release --project src/Pipelines.Benchmarks -- storage {mib}`  ");
            md.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {BenchmarkReport.MachineLine()}; load average (1/5/15 min) {loadBefore} before, {LoadAverage()} after. " +
                          "The load averages say how busy the 2 cores were (Azurite's Node process shares them); single figures are noisy, so compare the alternating pairs, not single rows.  ");
            md.AppendLine($"One {mib} MiB file of random bytes ({bytes / 1e6:N0} MB, used for MB/s) through `IArtifactStore`, Azurite 3.37.0 on loopback (its Node process shares the cores). " +
                          "Upload = `CreateAsync` from a file (SHA-256 and MD5 computed while streaming; Put Block with Content-MD5 per block, one create-only Put Block List). " +
                          "Download = `OpenReadAsync` copied to a file (Content-MD5 and SHA-256 verified at the end). The two Azure clients alternate A B B A per setting; " +
                          "the previous client is kept only in the benchmark project (src/Pipelines.Benchmarks/Storage/Legacy) for this comparison.");
            md.AppendLine();
            md.AppendLine("| store | setting | upload | upload MB/s | download | download MB/s |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var r in rows)
                md.AppendLine($"| {r.Store} | {r.Setting} | {r.Up.ToString("N2", CultureInfo.InvariantCulture)} s | {Rate(r.Up).ToString("N0", CultureInfo.InvariantCulture)} | " +
                              $"{r.Down.ToString("N2", CultureInfo.InvariantCulture)} s | {Rate(r.Down).ToString("N0", CultureInfo.InvariantCulture)} |");
            md.AppendLine();
            foreach (var setting in rows.Where(r => r.Store.StartsWith("Azure", StringComparison.Ordinal)).Select(r => r.Setting[..r.Setting.IndexOf(" (", StringComparison.Ordinal)]).Distinct())
            {
                var sdk = rows.Where(r => r.Setting.StartsWith(setting, StringComparison.Ordinal) && r.Store.Contains("Azure.Storage")).ToList();
                var old = rows.Where(r => r.Setting.StartsWith(setting, StringComparison.Ordinal) && r.Store.Contains("previous")).ToList();
                md.AppendLine($"- {setting}: SDK / previous, mean of two each: upload {(sdk.Average(r => r.Up) / old.Average(r => r.Up)).ToString("N2", CultureInfo.InvariantCulture)}×, " +
                              $"download {(sdk.Average(r => r.Down) / old.Average(r => r.Down)).ToString("N2", CultureInfo.InvariantCulture)}× (below 1 = the SDK is faster).");
            }
            Console.WriteLine(md);
            report.WriteSection("storage-sdk", md.ToString());
            return 0;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static void WriteSource(string path, long bytes)
    {
        var chunk = new byte[16 << 20];
        var random = new Random(7);
        using var f = File.Create(path);
        for (long written = 0; written < bytes; written += chunk.Length)
        {
            random.NextBytes(chunk);
            f.Write(chunk, 0, (int)Math.Min(chunk.Length, bytes - written));
        }
    }

    private static async Task<double> UploadAsync(IArtifactStore store, string source)
    {
        await using var file = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var sw = Stopwatch.StartNew();
        await store.CreateAsync("bench/source.bin", file);
        return sw.Elapsed.TotalSeconds;
    }

    private static async Task<double> DownloadAsync(IArtifactStore store, string target, long expected)
    {
        var sw = Stopwatch.StartNew();
        long n;
        await using (var from = await store.OpenReadAsync("bench/source.bin"))
        await using (var to = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
        {
            await from.CopyToAsync(to, 1 << 20);
            n = to.Length;
        }
        var seconds = sw.Elapsed.TotalSeconds;
        if (n != expected) throw new InvalidOperationException($"downloaded {n} bytes, expected {expected}");
        return seconds;
    }
}
