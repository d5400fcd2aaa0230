namespace Pipelines.Tracking.Client;

/// <summary>
/// Which tracking server a pipeline run uses, as the run records it when it is submitted: <see cref="BuiltIn"/> for
/// the built-in store on the run's own PostgreSQL (reachable from every worker), or an external server's address
/// (scheme, host, port and path). Never credentials: a worker finds those in its own configuration, and sends them
/// only to the server they were configured for.
/// </summary>
public static class TrackingServers
{
    public const string BuiltIn = "built-in";

    /// <summary>
    /// The server a run submitted with <paramref name="uri"/> (the value of <paramref name="field"/>, e.g.
    /// <c>MLFLOW_TRACKING_URI</c>) records: <see cref="BuiltIn"/> when blank, else its identity. A URI with user
    /// information or a query is refused: what would be stored could carry a secret, and the credentials belong in
    /// MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD.
    /// </summary>
    /// <exception cref="FormatException">The URI is not an http(s) URL, or carries credentials or a query; the message names the field.</exception>
    public static string ForRun(string? uri, string field)
    {
        if (string.IsNullOrWhiteSpace(uri)) return BuiltIn;
        if (!Uri.TryCreate(uri.Trim(), UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
            throw new FormatException($"{field}: '{Redacted(uri)}' is not an http(s) URL; only REST tracking servers are supported");
        if (parsed.UserInfo.Length > 0)
            throw new FormatException($"{field}: '{Redacted(uri)}' carries credentials in its user information; a run records its tracking "
                + "server in the database, so give the address alone and put the credentials in MLFLOW_TRACKING_TOKEN or "
                + "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD");
        if (parsed.Query.Length > 1)
            throw new FormatException($"{field}: '{Redacted(uri)}' has a query; a run records its tracking server in the database and a query "
                + "may carry a secret, so give the address alone (credentials go in MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)");
        return IdentityOf(parsed);
    }

    /// <summary>A server's identity: scheme, lower-case host, port and path without a trailing slash; no user information, query or fragment.</summary>
    public static string IdentityOf(Uri uri) => $"{uri.Scheme}://{uri.Host.ToLowerInvariant()}:{uri.Port}{uri.AbsolutePath.TrimEnd('/')}";

    /// <summary>The identity of a configured URI, or null when it is blank or not an absolute URL.</summary>
    public static string? IdentityOf(string? uri) =>
        !string.IsNullOrWhiteSpace(uri) && Uri.TryCreate(uri.Trim(), UriKind.Absolute, out var u) ? IdentityOf(u) : null;

    /// <summary>What an error may show of a refused URI: scheme, host, port and path, with user information and query masked.</summary>
    public static string Redacted(string uri) =>
        Uri.TryCreate(uri.Trim(), UriKind.Absolute, out var u)
            ? $"{u.Scheme}://{(u.UserInfo.Length > 0 ? "***@" : "")}{u.Authority}{u.AbsolutePath}{(u.Query.Length > 1 ? "?***" : "")}"
            : "(not a URL)";

    /// <summary>
    /// What a worker without credentials for <paramref name="server"/> should be told when the server refuses it:
    /// how to give this worker credentials for that server, which it then sends to that server only.
    /// </summary>
    public static string CredentialsHint(string server) =>
        $"this worker has no credentials for the run's tracking server {server}: start it with MLFLOW_TRACKING_URI={server} and "
        + "MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)";
}
