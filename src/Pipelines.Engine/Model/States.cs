namespace Pipelines.Engine.Model;

/// <summary>States of a run. The database enforces the same closed set.</summary>
public enum RunState { Queued, Running, Succeeded, Failed, Cancelled, Stopped }

/// <summary>States of a step run; a step run in <see cref="Available"/> is a job waiting for a worker.</summary>
public enum StepState { Pending, Available, Running, Retrying, Waiting, Succeeded, Failed, Stopped, Skipped, Cancelled }

/// <summary>How one attempt ended.</summary>
public enum AttemptState { Running, Succeeded, Failed, Stopped, Lost, Cancelled, TimedOut, HandedBack }

public static class StateNames
{
    public static string Db(this RunState s) => s.ToString().ToLowerInvariant();
    public static string Db(this StepState s) => s.ToString().ToLowerInvariant();
    public static string Db(this AttemptState s) => s switch
    {
        AttemptState.TimedOut => "timed_out",
        AttemptState.HandedBack => "handed_back",
        _ => s.ToString().ToLowerInvariant(),
    };

    public static RunState ParseRun(string s) => Enum.Parse<RunState>(s, ignoreCase: true);
    public static StepState ParseStep(string s) => Enum.Parse<StepState>(s, ignoreCase: true);
    public static AttemptState ParseAttempt(string s) => Enum.Parse<AttemptState>(s.Replace("_", ""), ignoreCase: true);

    public static bool IsTerminal(this StepState s) =>
        s is StepState.Succeeded or StepState.Failed or StepState.Stopped or StepState.Skipped or StepState.Cancelled;

    public static bool IsTerminal(this RunState s) =>
        s is RunState.Succeeded or RunState.Failed or RunState.Cancelled or RunState.Stopped;
}
