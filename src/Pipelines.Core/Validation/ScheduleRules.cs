using Pipelines.Core.Definitions;
using Pipelines.Core.Scheduling;

namespace Pipelines.Core.Validation;

/// <summary>Cron syntax, time zone and the schedule's bounds.</summary>
internal static class ScheduleRules
{
    public static void Check(WorkflowDefinition definition, List<ValidationError> errors)
    {
        if (definition.Schedule is not { } s) return;
        void Error(string key, string message) => errors.Add(new ValidationError(s.LocationOf(key), $"schedule.{key}", message));

        try { CronExpression.Parse(s.Cron); }
        catch (FormatException e) { Error("cron", $"invalid cron expression '{s.Cron}': {e.Message}"); }
        // The cron parser is developed separately; until it exists, cron text cannot be checked here.
        catch (NotImplementedException) { }

        try { TimeZoneInfo.FindSystemTimeZoneById(s.TimeZone); }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            Error("timezone", $"unknown time zone '{s.TimeZone}'; use an IANA name such as UTC or Europe/Amsterdam");
        }
        if (s.MaxCatchUp < 1) Error("max_catch_up", $"max_catch_up must be at least 1, got {s.MaxCatchUp}");
        if (s.MaxConcurrentRuns < 1) Error("max_concurrent_runs", $"max_concurrent_runs must be at least 1, got {s.MaxConcurrentRuns}");
    }
}
