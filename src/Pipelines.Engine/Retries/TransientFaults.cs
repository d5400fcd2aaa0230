using System.Data.Common;
using System.Net.Sockets;

namespace Pipelines.Engine.Retries;

/// <summary>
/// Which errors say nothing about a step's input, only that a database or network was briefly away. An attempt that
/// ended on one is retried by rule, wherever the error surfaced, so that a PostgreSQL restart during a run costs a
/// retry instead of the run (README: runs survive a database restart).
/// </summary>
public static class TransientFaults
{
    // SQLSTATE classes and codes that describe the server's or the connection's state, not the statement:
    // 08 connection exceptions, 53 insufficient resources, 57P01-57P03 shutdown / starting up,
    // 40001 serialization failure, 40P01 deadlock.
    private static readonly string[] TransientClasses = ["08", "53"];
    private static readonly string[] TransientCodes = ["57P01", "57P02", "57P03", "40001", "40P01"];

    public static bool IsTransient(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case AggregateException aggregate when aggregate.InnerExceptions.Count > 0:
                    return aggregate.InnerExceptions.All(IsTransient);
                case DbException db when db.IsTransient || IsTransientSqlState(db.SqlState):
                    return true;
                case SocketException:
                    return true;
            }
        }
        return false;
    }

    public static bool IsTransientSqlState(string? sqlState) =>
        sqlState is { Length: 5 }
        && (TransientClasses.Any(c => sqlState.StartsWith(c, StringComparison.Ordinal)) || TransientCodes.Contains(sqlState));
}
