namespace Pipelines.Tracking.Client;

/// <summary>Where the tracking server is and how to talk to it. <see cref="FromEnvironment"/> reads MLflow's own variables.</summary>
public sealed record MlflowClientOptions
{
    public required Uri TrackingUri { get; init; }
    /// <summary>Bearer token (<c>MLFLOW_TRACKING_TOKEN</c>); wins over basic credentials.</summary>
    public string? Token { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }
    /// <summary>Added to a 401/403's message: what to configure (e.g. a worker tracking a run's server it has no credentials for).</summary>
    public string? AuthorizationHint { get; init; }
    /// <summary>Tries per request, the first included, for 429, 5xx and connection failures.</summary>
    public int MaxAttempts { get; init; } = 5;
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);
    public TimeProvider Time { get; init; } = TimeProvider.System;
    /// <summary>Source of jitter in [0,1); injected so tests are exact.</summary>
    public Func<double> Jitter { get; init; } = Random.Shared.NextDouble;

    public static MlflowClientOptions FromEnvironment(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        var uri = env("MLFLOW_TRACKING_URI");
        if (string.IsNullOrWhiteSpace(uri))
            throw new InvalidOperationException("MLFLOW_TRACKING_URI is not set (e.g. http://127.0.0.1:5000)");
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || (parsed.Scheme != "http" && parsed.Scheme != "https"))
            throw new InvalidOperationException($"MLFLOW_TRACKING_URI '{uri}' is not an http(s) URL; only REST tracking servers are supported");
        var user = env("MLFLOW_TRACKING_USERNAME");
        var password = env("MLFLOW_TRACKING_PASSWORD");
        if (string.IsNullOrEmpty(user) != string.IsNullOrEmpty(password))
            throw new InvalidOperationException("MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD must be set together");
        return new MlflowClientOptions
        {
            TrackingUri = parsed,
            Token = NullIfEmpty(env("MLFLOW_TRACKING_TOKEN")),
            Username = NullIfEmpty(user),
            Password = NullIfEmpty(password),
        };
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}

/// <summary>Retry delay as a pure function of the attempt: exponential, capped, with ±20% jitter.</summary>
public static class Backoff
{
    public static TimeSpan Delay(int failedAttempt, TimeSpan initial, TimeSpan max, double jitter01)
    {
        var exp = initial.TotalMilliseconds * Math.Pow(2, Math.Max(0, failedAttempt - 1));
        var capped = Math.Min(exp, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + 0.4 * jitter01));
    }
}
