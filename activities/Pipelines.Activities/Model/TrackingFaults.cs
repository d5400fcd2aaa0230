using System.Net;
using Pipelines.Tracking.Client;

namespace Pipelines.Activities.Model;

/// <summary>
/// How a tracking server's answers become a step's outcome: a server that cannot be reached, times out or answers
/// 429/5xx (after the client's own retries) is a retryable failure, so the step's retry policy tries again later; a
/// request the server rejects fails the step with MLflow's <c>error_code</c> and message verbatim, naming the step.
/// </summary>
public static class TrackingFaults
{
    public static async Task<T> RunAsync<T>(ActivityContext context, Func<Task<T>> work, CancellationToken ct)
    {
        try
        {
            return await work();
        }
        catch (MlflowException e) when (Transient(e.StatusCode))
        {
            throw new ActivityException($"step '{context.StepId}': the MLflow tracking server{At(e)} answered {(int)e.StatusCode} {e.ErrorCode}: {e.Message} (will be retried)",
                retryable: true, e);
        }
        catch (MlflowException e)
        {
            throw new ActivityException($"step '{context.StepId}': MLflow{At(e)} rejected the request: {e.ErrorCode}: {e.Message}", retryable: false, e);
        }
        catch (HttpRequestException e)
        {
            throw new ActivityException($"step '{context.StepId}': {e.Message} (will be retried)", retryable: true, e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new ActivityException($"step '{context.StepId}': the MLflow tracking server did not answer in time (will be retried)", retryable: true, e);
        }
    }

    private static string At(MlflowException e) => e.Server is { } server ? $" at {server}" : "";

    private static bool Transient(HttpStatusCode s) =>
        s is HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError;
}
