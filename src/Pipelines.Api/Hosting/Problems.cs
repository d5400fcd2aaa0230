using System.Text.Json;

namespace Pipelines.Api.Hosting;

/// <summary>RFC 7807 problem details; a 400 names the field or parameter at fault in <c>errors</c>.</summary>
public static class Problems
{
    public static IResult Status(int status, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title);

    public static IResult Field(string field, string message, int status = StatusCodes.Status400BadRequest) =>
        Results.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, detail: $"{field}: {message}",
            statusCode: status, title: "Invalid request");

    public static IResult Fields(IReadOnlyDictionary<string, string[]> errors, string detail) =>
        Results.ValidationProblem(errors, detail: detail, title: "Invalid request");

    public static IResult NotFound(string what) => Status(StatusCodes.Status404NotFound, "Not found", what);
    public static IResult Conflict(string detail) => Status(StatusCodes.Status409Conflict, "Conflict", detail);
    public static IResult Forbidden(string detail) => Status(StatusCodes.Status403Forbidden, "Forbidden", detail);

    /// <summary>Writes a problem directly (outside endpoint results: authentication, middleware).</summary>
    public static async Task Write(HttpContext context, int status, string title, string detail)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        var body = new JsonObject
        {
            ["type"] = $"https://tools.ietf.org/html/rfc9110#section-15.{(status >= 500 ? 6 : 5)}",
            ["title"] = title,
            ["status"] = status,
            ["detail"] = detail,
        };
        await context.Response.WriteAsync(body.ToJsonString(JsonOptions), context.RequestAborted);
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
}
