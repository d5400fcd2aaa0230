using Pipelines.Postgres.Engine;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Workers;

public class LeaderElectionTests
{
    [Test]
    public async Task OnlyOneLeads_AndAStoppedLeaderHandsOverAtOnce_EvenThoughItsConnectionStaysPooled()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var first = new PostgresLeaderElection(db.DataSource);
        await using var second = new PostgresLeaderElection(db.DataSource);

        Assert.That(await first.TryLeadAsync(), Is.True);
        Assert.That(await first.TryLeadAsync(), Is.True, "a leader keeps leading");
        Assert.That(await second.TryLeadAsync(), Is.False, "only one leads");

        // Same process, same pool: the stopped leader's connection is not closed, only returned.
        await first.DisposeAsync();
        Assert.That(await second.TryLeadAsync(), Is.True, "the lock went with the stop, not with the pooled connection");
        Assert.That(await db.ScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"), Is.EqualTo(1));
    }
}
