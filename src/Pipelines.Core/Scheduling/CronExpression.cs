namespace Pipelines.Core.Scheduling;

/// <summary>A standard five-field cron expression (minute hour day-of-month month day-of-week).</summary>
public sealed class CronExpression
{
    public string Text { get; }

    private CronExpression(string text) { Text = text; throw new NotImplementedException(); }

    /// <exception cref="FormatException">names the field at fault.</exception>
    public static CronExpression Parse(string text) => throw new NotImplementedException();

    /// <summary>The first fire time strictly after <paramref name="after"/>, evaluated in wall-clock time of <paramref name="zone"/>.</summary>
    public DateTimeOffset? GetNextOccurrence(DateTimeOffset after, TimeZoneInfo zone) => throw new NotImplementedException();
}
