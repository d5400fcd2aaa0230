using Pipelines.Core.Activities;

namespace Pipelines.Activities;

public static class BuiltinActivities
{
    /// <summary>A registry with every activity in this library plus the engine's own kinds.</summary>
    public static ActivityRegistry CreateRegistry() =>
        new ActivityRegistry().AddAssembly(typeof(BuiltinActivities).Assembly).AddEngineKinds();
}
