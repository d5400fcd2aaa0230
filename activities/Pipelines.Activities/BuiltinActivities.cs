using Pipelines.Activities.Builtin;
using Pipelines.Activities.Data;
using Pipelines.Activities.Ml;
using Pipelines.Activities.Model;
using Pipelines.Activities.Monitoring;
using Pipelines.Activities.Monitoring.Challenger;
using Pipelines.Activities.Monitoring.Triggers;

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
            .Add<HpoSuggestActivity>()
            .Add<HpoLeaderboardActivity>()
            .Add<TrainTrialActivity>()
            .Add<TrainActivity>()
            .Add<PromoteActivity>()
            .Add<EvaluationGateActivity>()
            .Add<PartitionsActivity>()
            .Add<BatchPredictActivity>()
            .Add<PublishPredictionsActivity>()
            .Add<EvaluateActivity>()
            .Add<ProfileActivity>()
            .Add<MonitorActivity>()
            .Add<JoinLabelsActivity>()
            .Add<TriggerWorkflowActivity>()
            .Add<ShadowScoreActivity>()
            .Add<ChallengerLabelsActivity>()
            .Add<QualityGateActivity>()
            .Add<FeaturesActivity>()
            .Add<IngestActivity>()
            .AddEngineKinds();
}
