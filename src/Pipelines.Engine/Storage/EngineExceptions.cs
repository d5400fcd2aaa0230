namespace Pipelines.Engine.Storage;

/// <summary>A thing asked for does not exist (run, step, schedule).</summary>
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The request conflicts with current state (e.g. approving a step that is not waiting; a lost race).</summary>
public sealed class ConflictException(string message) : Exception(message);

/// <summary>The request breaks a policy (e.g. approving your own run when the workflow forbids it).</summary>
public sealed class PolicyException(string message) : Exception(message);
