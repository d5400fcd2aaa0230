namespace Pipelines.Tracking.Model;

/// <summary>System tags MLflow itself sets or reads.</summary>
public static class MlflowTags
{
    public const string RunName = "mlflow.runName";
    public const string ParentRunId = "mlflow.parentRunId";
    public const string User = "mlflow.user";
    public const string SourceName = "mlflow.source.name";
    public const string SourceType = "mlflow.source.type";
    public const string SourceGitCommit = "mlflow.source.git.commit";
}
