using Pipelines.Testing;

namespace Pipelines.Storage.Tests;

/// <summary>One Azurite for the Azure tests that do not stop it; started on first use, stopped after the run.</summary>
[SetUpFixture]
public sealed class AzuriteFixture
{
    private static readonly Lazy<Task<AzuriteServer>> Shared = new(() => AzuriteServer.StartNewAsync());

    public static Task<AzuriteServer> ServerAsync() => Shared.Value;

    [OneTimeTearDown]
    public async Task StopAzurite()
    {
        if (Shared.IsValueCreated) await (await Shared.Value).DisposeAsync();
    }

    public static string NewContainer() => "t" + Guid.NewGuid().ToString("N")[..20];
}
