using Pipelines.Api.Events;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Api.Endpoints;

/// <summary><c>/api/v1/models</c>: registered models, their versions and aliases; promote and roll back the champion.</summary>
public static class ModelEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/models", async (ModelRegistry registry, CancellationToken ct) => await Guarded(async () =>
        {
            var client = (await registry.TrackingAsync(ct)).Client;
            var page = await client.SearchRegisteredModelsAsync(maxResults: 1000, ct: ct);
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray([.. page.Items.Select(m => (JsonNode?)new JsonObject
                {
                    ["name"] = m.Name,
                    ["latestVersion"] = m.LatestVersions?.Select(v => long.TryParse(v.Version, out var n) ? n : 0).DefaultIfEmpty().Max().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["aliases"] = Aliases(m.Aliases),
                    ["updatedAt"] = Time(m.LastUpdatedTimestamp),
                    ["description"] = m.Description,
                })]),
                ["nextCursor"] = null,
            });
        })).Requires(Role.Viewer).WithName("listModels");

        api.MapGet("/models/{name}", async (string name, ModelRegistry registry, CancellationToken ct) => await Guarded(async () =>
        {
            var client = (await registry.TrackingAsync(ct)).Client;
            var model = await client.GetRegisteredModelAsync(name, ct);
            var versions = await client.SearchModelVersionsAsync($"name='{name.Replace("'", "''")}'", maxResults: 200, ct: ct);
            var items = new JsonArray();
            foreach (var v in versions.Items.OrderByDescending(v => long.TryParse(v.Version, out var n) ? n : 0))
            {
                JsonObject metrics = new();
                if (v.RunId is { Length: > 0 } runId && items.Count < 50)
                {
                    try
                    {
                        var run = await client.GetRunAsync(runId, ct);
                        foreach (var m in run.Data.Metrics ?? []) metrics[m.Key] = m.Value;
                    }
                    catch (MlflowException) { /* the run may be gone: the version stays listed without metrics */ }
                }
                items.Add(new JsonObject
                {
                    ["version"] = v.Version,
                    ["runId"] = v.RunId,
                    ["source"] = v.Source,
                    ["status"] = v.Status,
                    ["metrics"] = metrics,
                    ["createdAt"] = Time(v.CreationTimestamp),
                    ["aliases"] = new JsonArray([.. (v.Aliases ?? []).Select(a => (JsonNode?)JsonValue.Create(a))]),
                    ["tags"] = new JsonObject((v.Tags ?? []).Select(t => KeyValuePair.Create(t.Key, (JsonNode?)JsonValue.Create(t.Value)))),
                });
            }
            return Results.Json(new JsonObject { ["name"] = model.Name, ["description"] = model.Description, ["aliases"] = Aliases(model.Aliases), ["versions"] = items });
        })).Requires(Role.Viewer).WithName("getModel");

        api.MapPost("/models/{name}/promote", async (string name, HttpContext http, ModelRegistry registry, WebhookDispatcher hooks, CancellationToken ct) =>
        {
            var (body, error) = await Requests.ReadObjectAsync(http);
            if (error is not null) return error;
            if (!Requests.String(body!, "version", true, out var version, out error)) return error!;
            if (!Requests.String(body!, "alias", false, out var alias, out error)) return error!;
            if (alias is not null && alias != "champion") return Problems.Field("alias", "only the champion alias is promoted (the former champion becomes previous-champion)");
            if (!Requests.String(body!, "reason", false, out var reason, out error)) return error!;
            return await Guarded(async () =>
            {
                var r = await (await registry.TrackingAsync(ct)).PromoteAsync(name, version!, http.User.Name(), reason ?? "promoted through the API", ct);
                var result = Promotion(r);
                await hooks.EnqueueAsync("model.promoted", $"model.promoted:{name}:{r.At.ToUnixTimeMilliseconds()}:{r.Champion}", null, Hook("model.promoted", result), ct);
                return Results.Json(result);
            });
        }).Requires(Role.Approver).WithName("promoteModel");

        api.MapPost("/models/{name}/rollback", async (string name, HttpContext http, ModelRegistry registry, WebhookDispatcher hooks, CancellationToken ct) =>
        {
            var (body, error) = await Requests.ReadObjectAsync(http);
            if (error is not null) return error;
            if (!Requests.String(body!, "alias", false, out var alias, out error)) return error!;
            if (alias is not null && alias != "champion") return Problems.Field("alias", "only the champion alias is rolled back (to previous-champion)");
            if (!Requests.String(body!, "reason", false, out var reason, out error)) return error!;
            return await Guarded(async () =>
            {
                var r = await (await registry.TrackingAsync(ct)).RollbackAsync(name, http.User.Name(), reason ?? "rolled back through the API", ct);
                var result = Promotion(r);
                await hooks.EnqueueAsync("model.rolled_back", $"model.rolled_back:{name}:{r.At.ToUnixTimeMilliseconds()}:{r.Champion}", null, Hook("model.rolled_back", result), ct);
                return Results.Json(result);
            });
        }).Requires(Role.Approver).WithName("rollbackModel");

        ChallengerEndpoints.Map(api);
    }

    private static JsonObject Hook(string @event, JsonObject result) => new() { ["event"] = @event, ["workflow"] = null, ["data"] = result.DeepClone() };

    private static JsonObject Promotion(Pipelines.Tracking.Pipeline.PromotionResult r) => new()
    {
        ["model"] = r.Model, ["champion"] = r.Champion, ["previousChampion"] = r.PreviousChampion, ["by"] = r.By, ["at"] = r.At, ["reason"] = r.Reason,
    };

    private static JsonObject Aliases(IReadOnlyList<RegisteredModelAlias>? aliases) =>
        new((aliases ?? []).Select(a => KeyValuePair.Create(a.Alias, (JsonNode?)JsonValue.Create(a.Version))));

    private static DateTimeOffset? Time(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;

    internal static async Task<IResult> Guarded(Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (MlflowException e) when (e.ErrorCode == "RESOURCE_DOES_NOT_EXIST")
        {
            return Problems.NotFound(e.Message);
        }
        catch (MlflowException e) when (e.ErrorCode == "INVALID_PARAMETER_VALUE")
        {
            return Problems.Field("version", e.Message);
        }
        catch (InvalidOperationException e)
        {
            // e.g. nothing to roll back to: the registry's state does not allow it.
            return Problems.Conflict(e.Message);
        }
    }
}
