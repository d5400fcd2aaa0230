using Microsoft.Extensions.Logging;

namespace Pipelines.Engine.Logging;

/// <summary>
/// An <see cref="ILogger"/> that hands each rendered message to a line callback: for the CLI's terminal output and
/// for tests that collect what the engine said. Structured fields still reach real logging providers, which get the
/// same logger calls through a logger factory instead.
/// </summary>
public sealed class LineLogger(Action<string> write, LogLevel minimum = LogLevel.Information) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel)) write(formatter(state, exception));
    }
}
