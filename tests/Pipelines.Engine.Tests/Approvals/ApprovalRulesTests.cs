using System.Text.Json.Nodes;
using Pipelines.Engine.Approvals;

namespace Pipelines.Engine.Tests.Approvals;

/// <summary>The approval request and policy, without a database.</summary>
public class ApprovalRulesTests
{
    private static readonly Guid Run = Guid.Parse("00000000-0000-0000-0000-000000000001");

    [Test]
    public void Request_IsTypedFromTheStepsInputs()
    {
        var request = ApprovalRequest.FromInputs(new JsonObject
        {
            ["summary"] = new JsonObject { ["auc"] = 0.91 },
            ["approvers"] = new JsonArray("olivia", "victor"),
            ["allow_self_approval"] = true,
            ["timeout"] = "2h",
            ["auto_approve"] = false,
        });
        Assert.That(request.Approvers, Is.EqualTo(new[] { "olivia", "victor" }));
        Assert.That(request.AllowSelfApproval, Is.True);
        Assert.That(request.Timeout, Is.EqualTo(TimeSpan.FromHours(2)));
        Assert.That(request.AutoApprove, Is.False);
        Assert.That(request.Summary!["auc"]!.GetValue<double>(), Is.EqualTo(0.91));
    }

    [Test]
    public void Request_Defaults_AreFourEyes_NoTimeout_NoAutoApproval()
    {
        var request = ApprovalRequest.FromInputs(new JsonObject());
        Assert.That(request.AllowSelfApproval, Is.False);
        Assert.That(request.Approvers, Is.Empty);
        Assert.That(request.Timeout, Is.Null);
        Assert.That(request.AutoApprove, Is.False);
        Assert.That(request.AutoApproveReason, Is.EqualTo(ApprovalRequest.DefaultAutoApproveReason));
    }

    [Test]
    public void AutoApproval_CarriesItsReason() =>
        Assert.That(ApprovalRequest.FromInputs(new JsonObject { ["auto_approve"] = true, ["auto_approve_reason"] = "AUC up by 0.02" }),
            Has.Property(nameof(ApprovalRequest.AutoApproveReason)).EqualTo("AUC up by 0.02").And.Property(nameof(ApprovalRequest.AutoApprove)).True);

    [Test]
    public void Starter_MayNotDecide_UnlessSelfApprovalIsAllowed()
    {
        Assert.That(ApprovalPolicy.WhyNot("Alice", "alice", false, [], Run, "approve"),
            Does.Contain("started run").And.Contain("allow_self_approval is false"), "names compare without case");
        Assert.That(ApprovalPolicy.WhyNot("alice", "alice", true, [], Run, "approve"), Is.Null);
        Assert.That(ApprovalPolicy.WhyNot("bob", "alice", false, [], Run, "approve"), Is.Null);
    }

    [Test]
    public void NamedApprovers_AreTheOnlyOnesWhoMayDecide()
    {
        Assert.That(ApprovalPolicy.WhyNot("bob", "alice", false, ["olivia"], Run, "approve"), Does.Contain("not among the approvers"));
        Assert.That(ApprovalPolicy.WhyNot("OLIVIA", "alice", false, ["olivia"], Run, "approve"), Is.Null);
    }

    [Test]
    public void ThePolicysName_IsReserved()
    {
        Assert.That(ApprovalPolicy.ReservedNameRefusal("Policy"), Does.Contain("reserved"));
        Assert.That(ApprovalPolicy.WhyNot("policy", "alice", true, [], Run, "approve"), Does.Contain("reserved"));
        Assert.That(ApprovalPolicy.ReservedNameRefusal("olivia"), Is.Null);
    }
}
