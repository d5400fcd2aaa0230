using Npgsql;
using Pipelines.Core.Definitions;
using Pipelines.Engine.Model;
using Pipelines.Engine.Retries;

namespace Pipelines.Engine.Tests.Retries;

/// <summary>The retry rule and the transient-fault rule, without a database.</summary>
public class AttemptOutcomeRulesTests
{
    private static readonly DateTime Now = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly RetryPolicy ThreeTries = new(3, TimeSpan.FromSeconds(10), 2, TimeSpan.FromMinutes(1), 0);

    [Test]
    public void RetryableFailure_WithAttemptsLeft_IsRetriedAfterTheBackoff()
    {
        var d = AttemptOutcomes.DecideFailure(AttemptOutcome.Failed, true, "boom", 2, ThreeTries, false, Now, 0.5);
        Assert.That(d, Is.InstanceOf<FailedAttemptDecision.Retry>());
        Assert.That(((FailedAttemptDecision.Retry)d).At, Is.EqualTo(Now.AddSeconds(20)));
        Assert.That(d.StepState, Is.EqualTo(StepState.Retrying));
        Assert.That(d.AttemptState, Is.EqualTo(AttemptState.Failed));
        Assert.That(d.StepError, Is.EqualTo("boom (attempt 2 of 3; retrying)"));
    }

    [Test]
    public void LastAttempt_Fails_WithTheActivitysError()
    {
        var d = AttemptOutcomes.DecideFailure(AttemptOutcome.Failed, true, "boom", 3, ThreeTries, false, Now, 0.5);
        Assert.That(d, Is.InstanceOf<FailedAttemptDecision.Fail>());
        Assert.That(d.StepState, Is.EqualTo(StepState.Failed));
        Assert.That(d.StepError, Is.EqualTo("boom"));
    }

    [Test]
    public void NonRetryableFailure_FailsAtOnce() =>
        Assert.That(AttemptOutcomes.DecideFailure(AttemptOutcome.Failed, false, "bad input", 1, ThreeTries, false, Now, 0.5),
            Is.InstanceOf<FailedAttemptDecision.Fail>());

    [Test]
    public void Timeout_IsRetriedEvenWhenNotMarkedRetryable()
    {
        var d = AttemptOutcomes.DecideFailure(AttemptOutcome.TimedOut, false, "timed out after 00:00:05", 1, ThreeTries, false, Now, 0.5);
        Assert.That(d, Is.InstanceOf<FailedAttemptDecision.Retry>());
        Assert.That(d.AttemptState, Is.EqualTo(AttemptState.TimedOut));
    }

    [Test]
    public void CancelRequested_StopsRetries() =>
        Assert.That(AttemptOutcomes.DecideFailure(AttemptOutcome.Failed, true, "boom", 1, ThreeTries, true, Now, 0.5),
            Is.InstanceOf<FailedAttemptDecision.Fail>());

    [Test]
    public void SucceededAttempt_NeedsNoFailureDecision() =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            AttemptOutcomes.DecideFailure(AttemptOutcome.Succeeded, true, null, 1, ThreeTries, false, Now, 0.5));

    [TestCase("57P01", true, TestName = "admin shutdown (server stopping) is transient")]
    [TestCase("57P03", true, TestName = "cannot connect now (starting or shutting down) is transient")]
    [TestCase("08006", true, TestName = "connection failure is transient")]
    [TestCase("53300", true, TestName = "too many connections is transient")]
    [TestCase("40001", true, TestName = "serialization failure is transient")]
    [TestCase("23505", false, TestName = "unique violation is not transient")]
    [TestCase("42P01", false, TestName = "undefined table is not transient")]
    [TestCase("22P02", false, TestName = "invalid text representation is not transient")]
    public void PostgresErrors_AreTransientByTheirSqlState(string sqlState, bool transient) =>
        Assert.That(TransientFaults.IsTransient(new PostgresException("message", "FATAL", "FATAL", sqlState)), Is.EqualTo(transient));

    [Test]
    public void TransientError_IsFound_InsideWrappers()
    {
        var inner = new PostgresException("the database system is shutting down", "FATAL", "FATAL", "57P03");
        Assert.That(TransientFaults.IsTransient(new InvalidOperationException("writing the artifact row failed", inner)), Is.True);
        Assert.That(TransientFaults.IsTransient(new AggregateException(inner)), Is.True);
        Assert.That(TransientFaults.IsTransient(new System.Net.Sockets.SocketException(111)), Is.True);
    }

    [Test]
    public void OrdinaryErrors_AreNotTransient()
    {
        Assert.That(TransientFaults.IsTransient(new InvalidOperationException("column 'age' is missing")), Is.False);
        Assert.That(TransientFaults.IsTransient(new FileNotFoundException("no such file", "x.csv")), Is.False);
        Assert.That(TransientFaults.IsTransient(new AggregateException(
            new PostgresException("m", "FATAL", "FATAL", "57P03"), new InvalidOperationException("bad"))), Is.False,
            "one permanent error among several makes the whole permanent");
    }
}
