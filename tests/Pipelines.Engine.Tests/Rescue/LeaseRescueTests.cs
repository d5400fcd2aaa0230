using Pipelines.Engine.Model;
using Pipelines.Engine.Rescue;

namespace Pipelines.Engine.Tests.Rescue;

/// <summary>The rescue rule for a step whose worker stopped renewing its lease, without a database.</summary>
public class LeaseRescueTests
{
    [Test]
    public void LostWorker_StepGoesBackToTheQueue_KeepingItsError() =>
        Assert.That(LeaseRescue.Decide(false, 0, 3, "earlier error"), Is.EqualTo(new RescueDecision(StepState.Available, "earlier error", false)));

    [Test]
    public void AfterMaxRescues_TheStepFails_SayingHowOften() =>
        Assert.That(LeaseRescue.Decide(false, 3, 3, null), Is.EqualTo(new RescueDecision(StepState.Failed, "worker lost 4 times; giving up", true)));

    [Test]
    public void CancelRequested_Cancels_WhateverTheCount()
    {
        Assert.That(LeaseRescue.Decide(true, 0, 3, null).State, Is.EqualTo(StepState.Cancelled));
        Assert.That(LeaseRescue.Decide(true, 9, 3, null).State, Is.EqualTo(StepState.Cancelled));
    }
}
