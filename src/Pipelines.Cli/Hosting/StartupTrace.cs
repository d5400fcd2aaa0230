using System.Diagnostics;

namespace Pipelines.Cli.Hosting;

/// <summary>
/// With <c>PIPELINES_TRACE_STARTUP=1</c>, prints to stderr how long after the process started each phase of a command
/// ended, with the methods JIT-compiled and the assemblies loaded by then: where a short command's time goes (see
/// docs/benchmarks.md). Silent otherwise.
/// </summary>
public static class StartupTrace
{
    private static readonly DateTime? Start = Environment.GetEnvironmentVariable("PIPELINES_TRACE_STARTUP") == "1"
        ? Process.GetCurrentProcess().StartTime.ToUniversalTime()
        : null;

    public static void Mark(string phase)
    {
        if (Start is { } start)
            Console.Error.WriteLine($"[startup] {(DateTime.UtcNow - start).TotalMilliseconds,7:F1} ms  {phase,-28} jit {System.Runtime.JitInfo.GetCompiledMethodCount(),5} methods "
                + $"{System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds,5:F0} ms, {AppDomain.CurrentDomain.GetAssemblies().Length,3} assemblies");
    }
}
