namespace Pipelines.Cli;

/// <summary>Process exit codes, stable so that scripts and schedulers can act on them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The run finished but did not succeed (failed, cancelled, stopped by a gate, rejected).</summary>
    public const int RunNotSucceeded = 1;
    /// <summary>Invalid input: a workflow, parameter or argument is wrong; nothing was written.</summary>
    public const int InvalidInput = 2;
    /// <summary>The thing asked for does not exist (run, step, schedule).</summary>
    public const int NotFound = 3;
    /// <summary>A conflicting state: e.g. approving a step that is not waiting, or a lost race.</summary>
    public const int Conflict = 4;
    /// <summary>The database or another service could not be reached.</summary>
    public const int Unavailable = 5;
    /// <summary>A policy forbids the action (e.g. approving your own run).</summary>
    public const int Forbidden = 6;
}
