using System.Reflection;
using Pipelines.Postgres.Sql;

namespace Pipelines.Server.Tracking;

/// <summary>The tracking store's SQL: <c>-- name: X</c> blocks of the embedded <c>Tracking/Sql/*.sql</c>.</summary>
internal static class TrackingSql
{
    private static readonly NamedSql Statements = NamedSql.Load(Assembly.GetExecutingAssembly(), ".Tracking.Sql.");

    public static string Get(string name) => Statements.Get(name);
}
