using Pipelines.Core.Activities;
using Pipelines.Engine.Storage;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Api.Hosting;

/// <summary>How <c>pipelines server</c> is set up; tests build the same thing in-process.</summary>
public sealed record ApiServerOptions
{
    public required NpgsqlDataSource DataSource { get; init; }
    public required ActivityRegistry Registry { get; init; }
    /// <summary>Runs, approvals and schedules (the engine's store, behind its interface).</summary>
    public required IRunStore Store { get; init; }
    /// <summary>Artifact records and lineage behind <c>/api/v1/artifacts</c>.</summary>
    public required IArtifactRegistry ArtifactRegistry { get; init; }
    /// <summary>The newest schema version this build knows; <c>/readyz</c> reports the database behind it as not ready.</summary>
    public required int SchemaVersion { get; init; }
    /// <summary>Folder of the MLflow endpoint's artifacts (<c>/api/2.0/mlflow-artifacts</c>).</summary>
    public required string TrackingArtifactRoot { get; init; }
    /// <summary>The artifact store and registry behind <c>/api/v1/artifacts</c>; null leaves those endpoints answering 503.</summary>
    public Pipelines.Storage.IArtifactStore? Artifacts { get; init; }
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:5000"];
    /// <summary>MLflow behind <c>/api/v1/models</c> (MLFLOW_TRACKING_URI); null: the built-in endpoint on this database.</summary>
    public string? TrackingUri { get; init; }
    /// <summary>Loopback-only demo mode: every request is the single local admin. Refused on any other address.</summary>
    public bool Local { get; init; }
    public AuthSettings Auth { get; init; } = new();
    /// <summary>Static files (the web UI); null: none.</summary>
    public string? WebRoot { get; init; }
    public bool RequestLogging { get; init; } = true;
    /// <summary>Extra logging setup (tests capture every log line to check that no secret appears in one).</summary>
    public Action<Microsoft.Extensions.Logging.ILoggingBuilder>? Logging { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;
    /// <summary>Webhook endpoints notified of approvals, failures and promotions.</summary>
    public IReadOnlyList<WebhookSettings> Webhooks { get; init; } = [];
    /// <summary>OTLP endpoint for traces and metrics (e.g. http://collector:4318); null: none.</summary>
    public string? OtlpEndpoint { get; init; }
    /// <summary>
    /// Optional parts mounted beside the API (e.g. the Hangfire Dashboard): their services, then their endpoints, mapped
    /// after the API's and before the web UI's fallback. Each says its own role (<c>.Requires(Role.Admin)</c>); an endpoint
    /// that says none still needs a viewer (the fallback policy).
    /// </summary>
    public IReadOnlyList<ApiExtension> Extensions { get; init; } = [];
}

/// <summary>Something optional the server mounts (see <see cref="ApiServerOptions.Extensions"/>).</summary>
public sealed record ApiExtension(
    Action<Microsoft.Extensions.DependencyInjection.IServiceCollection> AddServices,
    Action<Microsoft.AspNetCore.Routing.IEndpointRouteBuilder> MapEndpoints);

public sealed record AuthSettings
{
    /// <summary>OIDC issuer (e.g. https://login.microsoftonline.com/TENANT/v2.0); keys come from its discovery document.</summary>
    public string? Authority { get; init; }
    public string? Audience { get; init; }
    /// <summary>A symmetric signing key (at least 32 bytes, base64) for tokens minted locally, e.g. by tests. Never logged.</summary>
    public string? SigningKey { get; init; }
    /// <summary>The issuer tokens signed with <see cref="SigningKey"/> must carry.</summary>
    public string? Issuer { get; init; }
    public string RoleClaim { get; init; } = "roles";
    public string GroupClaim { get; init; } = "groups";
    /// <summary>Group id or name → role names (viewer, operator, approver, admin).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> GroupRoles { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromHours(8);
    /// <summary>Marks the session cookie Secure (set when served over HTTPS).</summary>
    public bool SecureCookies { get; init; }

    public bool JwtConfigured => Authority is not null || SigningKey is not null;
}

public sealed record WebhookSettings
{
    public required string Url { get; init; }
    /// <summary>HMAC-SHA256 key for the <c>X-Pipelines-Signature</c> header. Never logged.</summary>
    public required string Secret { get; init; }
    /// <summary>Event names to send (approval.requested, run.failed, run.stopped, model.promoted, model.rolled_back); empty: all.</summary>
    public IReadOnlyList<string> Events { get; init; } = [];
    /// <summary>Only events of this workflow; null: every workflow.</summary>
    public string? Workflow { get; init; }
}
