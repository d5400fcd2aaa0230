using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Pipelines.Server.Tests;

/// <summary>A minimal Server-Sent Events reader over HttpClient (as a browser's EventSource parses them).</summary>
public sealed record SseEvent(long Id, string Kind, JsonObject Data)
{
    public static async Task<SseStream> OpenAsync(HttpClient client, string path, long? lastEventId, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId.ToString());
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
            Assert.Fail($"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/event-stream"));
        return new SseStream(response, await response.Content.ReadAsStreamAsync(ct));
    }
}

public sealed class SseStream(HttpResponseMessage response, Stream stream) : IAsyncDisposable
{
    public async IAsyncEnumerable<SseEvent> ReadAsync([EnumeratorCancellation] CancellationToken ct)
    {
        using var reader = new StreamReader(stream);
        long id = 0;
        string? kind = null;
        var data = new List<string>();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0)
            {
                if (kind is not null && data.Count > 0) yield return new SseEvent(id, kind, JsonNode.Parse(string.Join("\n", data))!.AsObject());
                kind = null;
                data.Clear();
                continue;
            }
            if (line.StartsWith(':')) continue;
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = long.Parse(value); break;
                case "event": kind = value; break;
                case "data": data.Add(value); break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stream.DisposeAsync();
        response.Dispose();
    }
}
