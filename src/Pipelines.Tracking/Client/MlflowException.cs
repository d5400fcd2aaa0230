using System.Net;

namespace Pipelines.Tracking.Client;

/// <summary>MLflow's error codes (databricks_pb2.ErrorCode) and the HTTP status its server answers each with.</summary>
public static class MlflowErrorCodes
{
    public const string InternalError = "INTERNAL_ERROR";
    public const string TemporarilyUnavailable = "TEMPORARILY_UNAVAILABLE";
    public const string BadRequest = "BAD_REQUEST";
    public const string MalformedRequest = "MALFORMED_REQUEST";
    public const string InvalidParameterValue = "INVALID_PARAMETER_VALUE";
    public const string EndpointNotFound = "ENDPOINT_NOT_FOUND";
    public const string ResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS";
    public const string ResourceDoesNotExist = "RESOURCE_DOES_NOT_EXIST";
    public const string InvalidState = "INVALID_STATE";
    public const string PermissionDenied = "PERMISSION_DENIED";
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string RequestLimitExceeded = "REQUEST_LIMIT_EXCEEDED";

    public static HttpStatusCode StatusOf(string code) => code switch
    {
        BadRequest or MalformedRequest or InvalidParameterValue or ResourceAlreadyExists or InvalidState => HttpStatusCode.BadRequest,
        EndpointNotFound or ResourceDoesNotExist => HttpStatusCode.NotFound,
        PermissionDenied => HttpStatusCode.Forbidden,
        Unauthenticated => HttpStatusCode.Unauthorized,
        RequestLimitExceeded => HttpStatusCode.TooManyRequests,
        TemporarilyUnavailable => HttpStatusCode.ServiceUnavailable,
        _ => HttpStatusCode.InternalServerError,
    };
}

/// <summary>An error answered by an MLflow server: its <c>error_code</c>, <c>message</c> and HTTP status.</summary>
public class MlflowException(string errorCode, string message, HttpStatusCode status) : Exception(message)
{
    public string ErrorCode { get; } = errorCode;
    public HttpStatusCode StatusCode { get; } = status;
    /// <summary>The tracking server that answered (no credentials), when the error came over HTTP.</summary>
    public string? Server { get; set; }

    /// <summary>The typed exception for an error code.</summary>
    public static MlflowException Create(string errorCode, string message, HttpStatusCode? status = null)
    {
        var s = status ?? MlflowErrorCodes.StatusOf(errorCode);
        return errorCode switch
        {
            MlflowErrorCodes.ResourceAlreadyExists => new ResourceAlreadyExistsException(message, s),
            MlflowErrorCodes.ResourceDoesNotExist => new ResourceDoesNotExistException(message, s),
            MlflowErrorCodes.InvalidParameterValue => new InvalidParameterValueException(message, s),
            MlflowErrorCodes.Unauthenticated or MlflowErrorCodes.PermissionDenied => new MlflowAuthorizationException(errorCode, message, s),
            _ => new MlflowException(errorCode, message, s),
        };
    }

    public static InvalidParameterValueException InvalidParameter(string message) => new(message, HttpStatusCode.BadRequest);
    public static ResourceDoesNotExistException NotFound(string message) => new(message, HttpStatusCode.NotFound);
    public static ResourceAlreadyExistsException AlreadyExists(string message) => new(message, HttpStatusCode.BadRequest);
}

public sealed class ResourceAlreadyExistsException(string message, HttpStatusCode status)
    : MlflowException(MlflowErrorCodes.ResourceAlreadyExists, message, status);

public sealed class ResourceDoesNotExistException(string message, HttpStatusCode status)
    : MlflowException(MlflowErrorCodes.ResourceDoesNotExist, message, status);

public sealed class InvalidParameterValueException(string message, HttpStatusCode status)
    : MlflowException(MlflowErrorCodes.InvalidParameterValue, message, status);

public sealed class MlflowAuthorizationException(string code, string message, HttpStatusCode status)
    : MlflowException(code, message, status);
