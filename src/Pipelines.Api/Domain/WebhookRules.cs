using System.Security.Cryptography;
using System.Text;

namespace Pipelines.Api.Domain;

/// <summary>Which changes become webhook events, how payloads are signed, and when a failed delivery is tried again.</summary>
public static class WebhookRules
{
    public const int MaxAttempts = 8;
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(5);

    public static IReadOnlyList<string> EventNames { get; } =
        ["approval.requested", "run.failed", "run.stopped", "model.promoted", "model.rolled_back"];

    /// <summary>The webhook event a live event stands for, or null (most changes are not webhook events).</summary>
    public static string? EventFor(string kind, JsonObject data) => (kind, data["state"]?.GetValue<string>()) switch
    {
        ("approval", "waiting") => "approval.requested",
        ("run", "failed") => "run.failed",
        ("run", "stopped") => "run.stopped",
        _ => null,
    };

    /// <summary>Whether an endpoint subscribed to <paramref name="events"/> (empty: all) for <paramref name="onlyWorkflow"/> (null: all) gets this.</summary>
    public static bool Wants(IReadOnlyList<string> events, string? onlyWorkflow, string @event, string? workflow) =>
        (events.Count == 0 || events.Contains(@event, StringComparer.Ordinal)) && (onlyWorkflow is null || onlyWorkflow == workflow);

    /// <summary><c>sha256=HEX</c> of HMAC-SHA256 over "<paramref name="timestamp"/>.<paramref name="body"/>" (the timestamp stops replays).</summary>
    public static string Signature(string secret, long timestamp, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));

    /// <summary>Delay before attempt <paramref name="attempt"/> + 1 after <paramref name="attempt"/> failed ones: 1 s doubling, capped; null when giving up.</summary>
    public static TimeSpan? RetryDelay(int attempt) =>
        attempt >= MaxAttempts ? null : TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, FirstDelay.Ticks << Math.Min(attempt - 1, 20)));
}
