using YamlDotNet.RepresentationModel;

namespace Pipelines.Core.Definitions;

/// <summary>Reads the <c>schedule</c> mapping. Cron syntax and time zones are checked by the validator.</summary>
internal static class ScheduleReader
{
    public static readonly string[] Keys = ["cron", "timezone", "catch_up", "max_catch_up", "max_concurrent_runs"];

    public static ScheduleDefinition? Read(YamlContext ctx, YamlScalarNode key, YamlNode node)
    {
        var e = ctx.Mapping(node, "schedule", Keys);
        if (e is null) return null;
        string? cron = null;
        if (e.TryGetValue("cron", out var c)) cron = ctx.String(c.Value, "schedule.cron");
        else ctx.Error(key, "schedule.cron", "missing key 'cron', e.g. cron: \"0 2 * * *\"");
        var timezone = e.TryGetValue("timezone", out var tz) ? ctx.String(tz.Value, "schedule.timezone") ?? "UTC" : "UTC";
        var catchUp = CatchUpPolicy.Skip;
        if (e.TryGetValue("catch_up", out var cu) && ctx.String(cu.Value, "schedule.catch_up") is { } text)
        {
            switch (text)
            {
                case "skip": catchUp = CatchUpPolicy.Skip; break;
                case "latest": catchUp = CatchUpPolicy.Latest; break;
                case "all": catchUp = CatchUpPolicy.All; break;
                default: ctx.Error(cu.Value, "schedule.catch_up", $"unknown catch_up '{text}'; one of: skip, latest, all"); break;
            }
        }
        var maxCatchUp = e.TryGetValue("max_catch_up", out var mc) ? ctx.Integer(mc.Value, "schedule.max_catch_up") ?? 10 : 10;
        var maxConcurrent = e.TryGetValue("max_concurrent_runs", out var mr) ? ctx.Integer(mr.Value, "schedule.max_concurrent_runs") ?? 1 : 1;
        return new ScheduleDefinition(cron ?? "", timezone, catchUp, (int)Math.Clamp(maxCatchUp, int.MinValue, int.MaxValue),
            (int)Math.Clamp(maxConcurrent, int.MinValue, int.MaxValue), ctx.Loc(key))
        {
            KeyLocations = e.ToDictionary(p => p.Key, p => ctx.Loc(p.Value.Key)),
        };
    }
}
