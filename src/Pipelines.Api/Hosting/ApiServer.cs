using System.Net;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using Pipelines.Api.Endpoints;
using Pipelines.Api.Events;
using Pipelines.Server.Artifacts;
using Pipelines.Server.Tracking;
using Pipelines.Engine.Storage;
using Pipelines.Storage;

namespace Pipelines.Api.Hosting;

/// <summary>
/// <c>pipelines server</c>: one ASP.NET Core process with the API (<c>/api/v1</c>), the MLflow-compatible endpoint
/// (<c>/api/2.0/mlflow</c>), health probes, the OpenAPI document and the web UI's static files.
/// </summary>
public static class ApiServer
{
    public static WebApplication Build(ApiServerOptions options)
    {
        if (options.Local) RequireLoopback(options.Urls);
        if (options.Auth.SigningKey is { } key && DecodeKey(key).Length < 32)
            throw new ArgumentException("the JWT signing key must be at least 32 bytes (base64)");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        if (!options.RequestLogging) builder.Logging.ClearProviders();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.IdentityModel", LogLevel.Warning);
        options.Logging?.Invoke(builder.Logging);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        builder.WebHost.UseUrls([.. options.Urls]);

        var s = builder.Services;
        s.AddSingleton(options);
        s.AddSingleton(options.DataSource);
        s.AddSingleton(options.Registry);
        // Endpoints ask for the part of the engine they use; all are the one store behind its interfaces.
        s.AddSingleton(options.Store);
        s.AddSingleton<IRunCommands>(options.Store);
        s.AddSingleton<IRunQueries>(options.Store);
        s.AddSingleton(options.ArtifactRegistry);
        s.AddSingleton(options.Time);
        s.AddSingleton(new LocalMode(options.Local));
        s.AddSingleton<KeyStore>();
        s.AddSingleton<AuditStore>();
        s.AddSingleton<WorkflowStore>();
        s.AddSingleton<ReadStore>();
        s.AddSingleton<RunListReads>();
        s.AddSingleton<DefinitionCache>();
        s.AddSingleton<ModelRegistry>();
        s.AddSingleton<Telemetry>();
        Telemetry.Add(s, options.OtlpEndpoint);
        s.AddSingleton<EventHub>();
        s.AddHostedService(sp => sp.GetRequiredService<EventHub>());
        s.AddSingleton<WebhookDispatcher>();
        s.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        s.AddProblemDetails();
        s.AddOpenApi("v1", o => o.AddDocumentTransformer((doc, _, _) =>
        {
            // The document must not depend on where it was served from (it is compared with docs/openapi.json).
            doc.Servers?.Clear();
            // Only this API: the MLflow-compatible endpoint follows MLflow's own specification.
            foreach (var path in doc.Paths.Keys.Where(p => !p.StartsWith("/api/v1/", StringComparison.Ordinal)).ToList())
                doc.Paths.Remove(path);
            string[] areas = ["session", "workflows", "runs", "approvals", "operations", "admin", "events", "webhooks", "artifacts", "models"];
            if (doc.Tags is { } tags)
                foreach (var tag in tags.Where(t => !areas.Contains(t.Name)).ToList()) tags.Remove(tag);
            doc.Info.Title = "Pipelines API";
            doc.Info.Version = "v1";
            return Task.CompletedTask;
        }));

        var auth = s.AddAuthentication(Caller.Scheme)
            .AddScheme<PipelinesAuthOptions, PipelinesAuthHandler>(Caller.Scheme, o =>
            {
                o.Local = options.Local;
                o.Settings = options.Auth;
            });
        if (options.Auth.JwtConfigured)
            auth.AddJwtBearer(PipelinesAuthHandler.JwtScheme, o =>
            {
                o.MapInboundClaims = false;
                o.IncludeErrorDetails = false;
                if (options.Auth.Authority is { } authority)
                {
                    o.Authority = authority;
                    o.Audience = options.Auth.Audience;
                    o.RequireHttpsMetadata = authority.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
                }
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateAudience = options.Auth.Audience is not null,
                    ValidAudience = options.Auth.Audience,
                    ValidateIssuer = options.Auth.Issuer is not null || options.Auth.Authority is not null,
                    ValidIssuer = options.Auth.Issuer ?? options.Auth.Authority,
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    ClockSkew = TimeSpan.FromSeconds(30),
                    IssuerSigningKey = options.Auth.SigningKey is { } k ? new SymmetricSecurityKey(DecodeKey(k)) : null,
                    NameClaimType = "preferred_username",
                };
            });
        s.AddAuthorization(RolePolicies.AddRolePolicies);
        foreach (var extension in options.Extensions) extension.AddServices(s);

        var app = builder.Build();
        // Creates the meter's gauges before the first export.
        if (options.OtlpEndpoint is not null) app.Services.GetRequiredService<Telemetry>();
        app.UseExceptionHandler(e => e.Run(async http =>
        {
            // Never echo exception text: it may carry connection strings or other secrets.
            var error = http.Features.Get<IExceptionHandlerFeature>()?.Error;
            if (error is Npgsql.NpgsqlException or System.Net.Sockets.SocketException)
                await Problems.Write(http, StatusCodes.Status503ServiceUnavailable, "Unavailable", "the database is unavailable; try again");
            else
                await Problems.Write(http, StatusCodes.Status500InternalServerError, "Internal error", "the server failed to handle the request; see its log");
        }));

        var webRoot = options.WebRoot ?? Path.Combine(AppContext.BaseDirectory, "wwwroot");
        PhysicalFileProvider? files = Directory.Exists(webRoot) ? new PhysicalFileProvider(Path.GetFullPath(webRoot)) : null;
        if (files is not null)
        {
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        }

        app.UseRouting();
        app.UseAuthentication();
        app.Use(LoopbackOnlyInLocalMode);
        app.Use(AuditMutations);
        app.Use(RequireAntiForgeryToken);
        app.Use(MlflowWritesNeedOperator);
        app.UseAuthorization();

        app.MapGet("/healthz", () => Results.Json(new { status = "alive" })).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/readyz", Readiness).AllowAnonymous().ExcludeFromDescription();
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();

        var api = app.MapGroup("/api/v1");
        // Tags group the document's operations (and keep it independent of the host's assembly name).
        SessionEndpoints.Map(api.MapGroup("").WithTags("session"), options, app.Services.GetRequiredService<LocalMode>());
        WorkflowEndpoints.Map(api.MapGroup("").WithTags("workflows"));
        RunEndpoints.Map(api.MapGroup("").WithTags("runs"));
        ApprovalEndpoints.Map(api.MapGroup("").WithTags("approvals"));
        OperationsEndpoints.Map(api.MapGroup("").WithTags("operations"));
        AdminEndpoints.Map(api.MapGroup("").WithTags("admin"));
        EventEndpoints.Map(api.MapGroup("").WithTags("events"));
        WebhookEndpoints.Map(api.MapGroup("").WithTags("webhooks"));
        ArtifactEndpoints.Map(api.MapGroup("").WithTags("artifacts"));
        ArtifactPreviewEndpoints.Map(api.MapGroup("").WithTags("artifacts"));
        ModelEndpoints.Map(api.MapGroup("").WithTags("models"));
        RunMetricsEndpoints.Map(api.MapGroup("").WithTags("runs"));

        app.MapMlflow(new TrackingStore(options.DataSource, options.Time), new LocalArtifactFiles(options.TrackingArtifactRoot));
        foreach (var extension in options.Extensions) extension.MapEndpoints(app);

        app.MapFallback(async http =>
        {
            var path = http.Request.Path.Value ?? "/";
            if (files is null || path.StartsWith("/api/", StringComparison.Ordinal) || path.StartsWith("/openapi/", StringComparison.Ordinal)
                || !HttpMethods.IsGet(http.Request.Method) || files.GetFileInfo("index.html") is not { Exists: true } index)
            {
                await Problems.Write(http, StatusCodes.Status404NotFound, "Not found", $"no such endpoint: {http.Request.Method} {path}");
                return;
            }
            // The web UI routes in the browser: every other GET gets its index page.
            http.Response.ContentType = "text/html; charset=utf-8";
            await http.Response.SendFileAsync(index, http.RequestAborted);
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    /// <summary>The addresses the started server listens on.</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>Starts the server; in local mode, re-checks the addresses actually bound.</summary>
    public static async Task StartAsync(WebApplication app, CancellationToken ct)
    {
        await app.StartAsync(ct);
        if (app.Services.GetRequiredService<LocalMode>().Enabled)
        {
            try { RequireLoopback(Addresses(app)); }
            catch
            {
                await app.StopAsync(CancellationToken.None);
                throw;
            }
        }
        await app.Services.GetRequiredService<EventHub>().Ready.WaitAsync(TimeSpan.FromSeconds(30), ct);
    }

    /// <summary>Local mode grants every caller admin, so it must never be reachable from another machine.</summary>
    public static void RequireLoopback(IEnumerable<string> urls)
    {
        foreach (var url in urls)
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
                throw new LocalModeException($"--local: cannot tell whether '{url}' is a loopback address");
            var host = uri.Host.Trim('[', ']');
            var loopback = host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
            if (!loopback)
                throw new LocalModeException($"--local is refused on '{url}': local mode makes every caller the admin, so it only binds loopback addresses (127.0.0.1, [::1], localhost)");
        }
    }

    private static byte[] DecodeKey(string key)
    {
        try { return Convert.FromBase64String(key); }
        catch (FormatException) { throw new ArgumentException("the JWT signing key must be base64"); }
    }

    private static async Task LoopbackOnlyInLocalMode(HttpContext http, RequestDelegate next)
    {
        if (http.RequestServices.GetRequiredService<LocalMode>().Enabled && http.Connection.RemoteIpAddress is { } ip && !IPAddress.IsLoopback(ip))
        {
            await Problems.Write(http, StatusCodes.Status403Forbidden, "Forbidden", "this server runs in local mode and answers only this machine");
            return;
        }
        await next(http);
    }

    private static bool IsMutation(HttpRequest r) => !(HttpMethods.IsGet(r.Method) || HttpMethods.IsHead(r.Method) || HttpMethods.IsOptions(r.Method));

    /// <summary>Records every mutating API call with its outcome (status code), including refused ones.</summary>
    private static async Task AuditMutations(HttpContext http, RequestDelegate next)
    {
        if (!IsMutation(http.Request) || !(http.Request.Path.StartsWithSegments("/api/v1") || http.Request.Path.StartsWithSegments("/api/2.0")))
        {
            await next(http);
            return;
        }
        var outcome = 500;
        try
        {
            await next(http);
            outcome = http.Response.StatusCode;
        }
        finally
        {
            var pattern = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? http.Request.Path.Value ?? "";
            var audit = http.RequestServices.GetRequiredService<AuditStore>();
            // The audit row is written even when the caller went away; the request's token must not cancel it.
            await audit.AppendAsync(http.User.Identity?.IsAuthenticated == true ? http.User.Name() : "anonymous",
                $"{http.Request.Method} {pattern}", http.Request.Path.Value ?? "", PipelinesAuthHandler.ClientAddress(http), outcome, CancellationToken.None);
        }
    }

    /// <summary>Browser callers (cookie session, local mode) must echo the anti-forgery token on every change.</summary>
    private static async Task RequireAntiForgeryToken(HttpContext http, RequestDelegate next)
    {
        var kind = http.User.Kind();
        if (IsMutation(http.Request) && kind is "session" or "local")
        {
            var expected = kind == "local" ? http.RequestServices.GetRequiredService<LocalMode>().CsrfToken : http.User.FindFirst(Caller.CsrfClaim)?.Value;
            var given = http.Request.Headers["X-CSRF-Token"].ToString();
            if (expected is null || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                    System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(expected)))
            {
                await Problems.Write(http, StatusCodes.Status403Forbidden, "Forbidden",
                    "X-CSRF-Token header missing or wrong: send the csrfToken from GET /api/v1/session with every change");
                return;
            }
        }
        await next(http);
    }

    /// <summary>The MLflow endpoint keeps its own routes; reading needs a viewer (the fallback policy), writing an operator.</summary>
    private static async Task MlflowWritesNeedOperator(HttpContext http, RequestDelegate next)
    {
        if (IsMutation(http.Request) && http.Request.Path.StartsWithSegments("/api/2.0") && http.User.Identity?.IsAuthenticated == true
            && !Roles.Grants(http.User.RolesOf(), Role.Operator))
        {
            await Problems.Write(http, StatusCodes.Status403Forbidden, "Forbidden", $"{http.User.Name()} lacks the operator role this needs");
            return;
        }
        await next(http);
    }

    private static async Task<IResult> Readiness(Npgsql.NpgsqlDataSource db, ApiServerOptions options, CancellationToken ct)
    {
        var checks = new Dictionary<string, string>();
        var ready = true;
        try
        {
            await using var conn = await db.OpenConnectionAsync(ct);
            await using var cmd = new Npgsql.NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_migrations", conn);
            var version = Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
            var expected = options.SchemaVersion;
            checks["database"] = version >= expected ? "ok" : $"schema at {version}, expected {expected}";
            ready &= version >= expected;
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            checks["database"] = "unreachable";
            ready = false;
        }
        if (options.Artifacts is { } store)
        {
            try
            {
                await store.ExistsAsync(".readyz-probe", ct);
                checks["artifacts"] = "ok";
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                checks["artifacts"] = "unreachable";
                ready = false;
            }
        }
        return Results.Json(new { status = ready ? "ready" : "not ready", checks }, statusCode: ready ? 200 : 503);
    }
}

/// <summary>Local mode was asked for on an address other machines can reach.</summary>
public sealed class LocalModeException(string message) : Exception(message);
