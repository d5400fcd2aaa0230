using System.Globalization;
using Azure;
using Azure.Core;

namespace Pipelines.Storage.Azure;

/// <summary>
/// The SDK pipeline's retry step, driven by our <see cref="RetryPolicy"/>: throttling, server errors, connection
/// failures and tries without a response within <see cref="RetryPolicy.TryTimeout"/> are retried with backoff
/// that honours Retry-After. Every retry is logged (redacted); when the tries run out the failure is thrown as a
/// <see cref="BlobRequestException"/> naming the operation, the URI (signature masked) and the last reason.
/// </summary>
/// <remarks>
/// Replaces the SDK's own retry loop (rather than configuring it) so that the delays are exactly the policy's,
/// the wait is injectable for tests, and the final error says what kept failing instead of an AggregateException.
/// </remarks>
internal sealed class PipelineRetry(RetryPolicy policy, BlobClientOptions options) : global::Azure.Core.Pipeline.RetryPolicy(policy.MaxAttempts - 1)
{
    public override void Process(HttpMessage message, ReadOnlyMemory<global::Azure.Core.Pipeline.HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<global::Azure.Core.Pipeline.HttpPipelinePolicy> pipeline)
    {
        var ct = message.CancellationToken;
        for (var attempt = 1; ; attempt++)
        {
            Exception? failure = null;
            string reason;
            TimeSpan? retryAfter = null;
            try
            {
                await ProcessNextAsync(message, pipeline);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsTransient(e))
            {
                failure = e;
            }
            var shownUri = Redaction.Redact(message.Request.Uri.ToUri());
            var operation = Operation(message.Request);
            if (failure is not null)
            {
                reason = failure is OperationCanceledException
                    ? $"no response within {policy.TryTimeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s"
                    : "connection failed: " + Innermost(failure).Message;
                if (attempt >= policy.MaxAttempts)
                    throw new BlobRequestException($"{operation} {shownUri} failed after {attempt} attempts: {Redaction.Redact(reason)}", null, null, failure);
            }
            else
            {
                var response = message.Response;
                if (!response.IsError || !RetryPolicy.IsRetryableStatus(response.Status)) return;
                var code = response.Headers.TryGetValue("x-ms-error-code", out var c) ? c : response.ReasonPhrase;
                reason = $"{response.Status} {code}";
                retryAfter = RetryAfter(response);
                if (attempt >= policy.MaxAttempts)
                    throw new BlobRequestException($"{operation} {shownUri} failed after {attempt} attempts: {reason}", response.Status, code);
                response.ContentStream?.Dispose();
            }
            var delay = policy.Delay(attempt + 1, retryAfter, options.Random());
            options.Log?.Invoke(Redaction.Redact($"{operation} {shownUri}: {reason}; retry {attempt + 1}/{policy.MaxAttempts} in {delay.TotalMilliseconds:0} ms"));
            await options.Wait(delay, ct);
            var context = message.ProcessingContext; // a view of the message: the SDK's request id and logging read the count
            context.RetryNumber++;
        }
    }

    /// <summary>Failures of the exchange itself (no usable response): a broken or refused connection, a try that timed out.</summary>
    private static bool IsTransient(Exception e) => e is IOException or System.Net.Http.HttpRequestException or OperationCanceledException
        or RequestFailedException { Status: 0 };

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null && e is RequestFailedException or System.Net.Http.HttpRequestException) e = e.InnerException;
        return e;
    }

    /// <summary>The Blob REST operation a request is, for messages people read.</summary>
    internal static string Operation(Request request)
    {
        var query = request.Uri.Query;
        bool Has(string part) => query.Contains(part, StringComparison.Ordinal);
        var method = request.Method.Method;
        return method switch
        {
            "PUT" when Has("comp=blocklist") => "Put Block List",
            "PUT" when Has("comp=block") => "Put Block",
            "PUT" when Has("restype=container") => "Create Container",
            "PUT" => "Put Blob",
            "GET" when Has("comp=list") => "List Blobs",
            "GET" => "Get Blob",
            "HEAD" => "Get Blob Properties",
            "DELETE" => "Delete Blob",
            _ => method,
        };
    }

    private static TimeSpan? RetryAfter(Response response)
    {
        if (response.Headers.TryGetValue("x-ms-retry-after-ms", out var ms) && double.TryParse(ms, CultureInfo.InvariantCulture, out var m))
            return TimeSpan.FromMilliseconds(m);
        if (!response.Headers.TryGetValue("Retry-After", out var ra)) return null;
        if (int.TryParse(ra, CultureInfo.InvariantCulture, out var seconds)) return TimeSpan.FromSeconds(seconds);
        if (DateTimeOffset.TryParse(ra, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)) return date - DateTimeOffset.UtcNow;
        return null;
    }
}
