using Pipelines.Tracking.Client;

namespace Pipelines.Tracking.Tests.Client;

/// <summary>What a run records as its tracking server when it is submitted (issue 11, item 8).</summary>
public class TrackingServersTests
{
    [TestCase(null)]
    [TestCase("")]
    [TestCase("  ")]
    public void NoUri_IsTheBuiltInStore(string? uri) =>
        Assert.That(TrackingServers.ForRun(uri, "MLFLOW_TRACKING_URI"), Is.EqualTo(TrackingServers.BuiltIn));

    [TestCase("http://MLflow.example:5000/", "http://mlflow.example:5000")]
    [TestCase("https://mlflow.example/tracking/", "https://mlflow.example:443/tracking")]
    [TestCase("http://127.0.0.1:5000#frag", "http://127.0.0.1:5000")]
    public void Address_IsRecordedAsItsIdentity(string uri, string expected) =>
        Assert.That(TrackingServers.ForRun(uri, "MLFLOW_TRACKING_URI"), Is.EqualTo(expected));

    [TestCase("http://alice:s3cret@mlflow.example:5000", "user information")]
    [TestCase("http://alice@mlflow.example:5000", "user information")]
    [TestCase("http://mlflow.example:5000/?token=s3cret", "query")]
    [TestCase("file:///tmp/mlruns", "not an http(s) URL")]
    [TestCase("databricks", "not an http(s) URL")]
    public void Refused_NamingTheField_WithoutEchoingTheSecret(string uri, string why)
    {
        var e = Assert.Throws<FormatException>(() => TrackingServers.ForRun(uri, "MLFLOW_TRACKING_URI"))!;
        Assert.That(e.Message, Does.StartWith("MLFLOW_TRACKING_URI: ").And.Contain(why));
        Assert.That(e.Message, Does.Not.Contain("s3cret").And.Not.Contain("alice"));
    }
}
