using Pipelines.Activities.Builtin;
using Pipelines.Core.Activities;

namespace Pipelines.Activities;

public static class BuiltinActivities
{
    /// <summary>A registry with every activity in this library plus the engine's own kinds.</summary>
    public static ActivityRegistry CreateRegistry() =>
        new ActivityRegistry()
            .Add<FailActivity>()
            .Add<LogActivity>()
            .Add<NoopActivity>()
            .Add<RangeActivity>()
            .Add<SleepActivity>()
            .AddAssembly(typeof(BuiltinActivities).Assembly)
            .AddEngineKinds();
}
