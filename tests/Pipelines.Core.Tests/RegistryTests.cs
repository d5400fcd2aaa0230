using Pipelines.Activities;

namespace Pipelines.Core.Tests;

public class RegistryTests
{
    [Test]
    public void Registry_DiscoversBuiltinActivities_WithSchemas()
    {
        var registry = BuiltinActivities.CreateRegistry();
        Assert.That(registry.Find("log")?.RequiredInputs, Is.EquivalentTo(new[] { "message" }));
        Assert.That(registry.Find("sleep"), Is.Not.Null);
        Assert.That(registry.Find("approval")?.Behavior, Is.EqualTo(Pipelines.Core.Activities.ActivityBehavior.Approval));
        Assert.That(registry.Find("log", "9"), Is.Null);
    }
}
