using System.Text.Json.Nodes;
using Pipelines.Core.Definitions;
using Pipelines.Deploy.Tests.Support;
using static Pipelines.Deploy.Tests.Kubernetes.RenderedOverlay;

namespace Pipelines.Deploy.Tests.Kubernetes;

/// <summary>
/// Renders each overlay of infra/k8s with <c>kubectl kustomize</c>, validates every object against the Kubernetes and
/// KEDA schemas (tests/node/validate-k8s.mjs), and checks what the schemas cannot: that references resolve and the
/// deployment rules hold (graceful termination, probes, limits, autoscaling, security).
/// </summary>
[TestFixture("dev")]
[TestFixture("prod")]
public class KubernetesManifestTests(string overlay)
{
    private RenderedOverlay _r = null!;

    [OneTimeSetUp]
    public async Task Render() => _r = await RenderAsync(overlay);

    private static readonly string[] PipelinesComponents = ["server", "worker", "migrate"];

    private IEnumerable<(JsonObject Workload, JsonObject Container)> PipelinesContainers() =>
        _r.Workloads()
            .Where(w => PipelinesComponents.Contains((string?)w["metadata"]!["labels"]?["app.kubernetes.io/component"]))
            .SelectMany(w => PodSpec(w)["containers"]!.AsArray().OfType<JsonObject>().Select(c => (w, c)));

    [Test]
    public async Task EveryObject_ValidatesAgainstTheKubernetesAndKedaSchemas()
    {
        Tool.Require("node", "apt-get install nodejs");
        var result = await Tool.RunAsync("node", [Repo.Path("tests", "node", "validate-k8s.mjs")], stdin: _r.ToValidatorJson(),
            workingDirectory: Repo.Path("tests", "node"));
        Assert.That(result.ExitCode, Is.EqualTo(0), $"schema validation of {overlay}:\n{result.Output}");
        Assert.That(result.Stdout.Trim(), Is.EqualTo($"ok {_r.Objects.Count}"));
    }

    [Test]
    public async Task TheValidator_RejectsAWronglyTypedField()
    {
        // The same validator must fail on a broken object, or the test above proves nothing.
        var worker = _r.Get("Deployment", "pipelines-worker").DeepClone().AsObject();
        PodSpec(worker)["terminationGracePeriodSeconds"] = "sixty";
        var json = new JsonArray(worker).ToJsonString();
        var result = await Tool.RunAsync("node", [Repo.Path("tests", "node", "validate-k8s.mjs")], stdin: json, workingDirectory: Repo.Path("tests", "node"));
        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stdout, Does.Contain("/spec/template/spec/terminationGracePeriodSeconds"));
    }

    [Test]
    public void EveryNamespacedObject_IsInTheOverlaysNamespace()
    {
        var expected = overlay == "prod" ? "pipelines" : "pipelines-dev";
        foreach (var o in _r.Objects)
            Assert.That((string?)o["metadata"]!["namespace"], Is.EqualTo(expected), $"{o["kind"]}/{Name(o)}");
    }

    [Test]
    public void WorkerTermination_IsLongerThanItsShutdownGrace()
    {
        var config = _r.Generated("ConfigMap", "pipelines-config");
        var grace = Durations.Parse((string)config["data"]!["PIPELINES_SHUTDOWN_GRACE"]!);
        var worker = _r.Get("Deployment", "pipelines-worker");
        var termination = TimeSpan.FromSeconds((long)PodSpec(worker)["terminationGracePeriodSeconds"]!);
        Assert.That(termination, Is.GreaterThanOrEqualTo(grace + TimeSpan.FromSeconds(10)),
            "Kubernetes must not SIGKILL a worker while it hands back steps (give it the grace plus time to record the hand-back)");
        Assert.That((JsonArray)Container(worker, "worker")["args"]!, Is.EqualTo(new JsonArray("worker")).Using<JsonNode>(JsonNode.DeepEquals));
        // The grace reaches the worker: through the ConfigMap the entry point reads.
        Assert.That(Container(worker, "worker")["envFrom"]!.AsArray().Select(e => (string?)e!["configMapRef"]?["name"]),
            Does.Contain(Name(config)));
    }

    [Test]
    public void Server_HasLivenessOnHealthz_AndReadinessOnReadyz_OnItsHttpPort()
    {
        var server = Container(_r.Get("Deployment", "pipelines-server"), "server");
        Assert.That((string?)server["livenessProbe"]!["httpGet"]!["path"], Is.EqualTo("/healthz"));
        Assert.That((string?)server["readinessProbe"]!["httpGet"]!["path"], Is.EqualTo("/readyz"));
        Assert.That((string?)server["startupProbe"]!["httpGet"]!["path"], Is.EqualTo("/healthz"));
        var ports = server["ports"]!.AsArray().Select(p => ((string?)p!["name"], (long)p["containerPort"]!)).ToList();
        Assert.That(ports, Does.Contain(("http", 8080L)));
        foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
            Assert.That((string?)server[probe]!["httpGet"]!["port"], Is.EqualTo("http"), probe);
    }

    [Test]
    public void EveryContainer_HasCpuAndMemoryRequestsAndLimits()
    {
        foreach (var w in _r.Workloads())
        foreach (var c in PodSpec(w)["containers"]!.AsArray().OfType<JsonObject>())
        foreach (var kind in new[] { "requests", "limits" })
        foreach (var resource in new[] { "cpu", "memory" })
            Assert.That(c["resources"]?[kind]?[resource], Is.Not.Null, $"{Name(w)}/{c["name"]}: resources.{kind}.{resource}");
    }

    [Test]
    public void PipelinesContainers_RunAsNonRoot_WithAReadOnlyRootFileSystem_AndWritableStateAndTmp()
    {
        var any = false;
        foreach (var (w, c) in PipelinesContainers())
        {
            any = true;
            var pod = PodSpec(w);
            Assert.That((bool?)pod["securityContext"]!["runAsNonRoot"], Is.True, Name(w));
            Assert.That((long?)pod["securityContext"]!["runAsUser"], Is.EqualTo(10001), Name(w));
            Assert.That((bool?)c["securityContext"]!["readOnlyRootFilesystem"], Is.True, Name(w));
            Assert.That((bool?)c["securityContext"]!["allowPrivilegeEscalation"], Is.False, Name(w));
            Assert.That(c["securityContext"]!["capabilities"]!["drop"]!.AsArray().Select(x => (string?)x), Does.Contain("ALL"), Name(w));
            var mounts = c["volumeMounts"]!.AsArray().Select(m => (string?)m!["mountPath"]).ToList();
            Assert.That(mounts, Does.Contain("/tmp"), Name(w));
            if ((string?)w["kind"] != "Job") Assert.That(mounts, Does.Contain("/var/lib/pipelines"), Name(w));
            var volumes = pod["volumes"]!.AsArray().Select(v => (string?)v!["name"]).ToList();
            foreach (var m in c["volumeMounts"]!.AsArray())
                Assert.That(volumes, Does.Contain((string?)m!["name"]), $"{Name(w)}: volume of mount {m["mountPath"]}");
        }
        Assert.That(any, Is.True);
    }

    [Test]
    public void ServerWorkerAndMigrations_RunTheSameImage()
    {
        var images = PipelinesContainers().Select(x => (string?)x.Container["image"]).Distinct().ToList();
        Assert.That(images, Has.Count.EqualTo(1), string.Join(", ", images));
        Assert.That(images[0], Does.Contain(":"), "a pinned tag");
        var migrate = _r.Get("Job", "pipelines-migrate");
        Assert.That((JsonArray)Container(migrate, "migrate")["args"]!, Is.EqualTo(new JsonArray("migrate")).Using<JsonNode>(JsonNode.DeepEquals));
        Assert.That((string?)migrate["metadata"]!["annotations"]!["argocd.argoproj.io/hook"], Is.EqualTo("PreSync"));
        Assert.That((string?)PodSpec(migrate)["restartPolicy"], Is.EqualTo("Never"));
    }

    [Test]
    public void References_Resolve_ConfigMapsSecretsServicesVolumesAndServiceAccounts()
    {
        var configMaps = _r.OfKind("ConfigMap").Select(Name).ToHashSet();
        var secrets = _r.OfKind("Secret").ToDictionary(Name, s => s["data"]!.AsObject().Select(kv => kv.Key).ToHashSet());
        var claims = _r.OfKind("PersistentVolumeClaim").Select(Name).ToHashSet();
        var accounts = _r.OfKind("ServiceAccount").Select(Name).ToHashSet();
        foreach (var w in _r.Workloads())
        {
            var pod = PodSpec(w);
            if ((string?)pod["serviceAccountName"] is { } sa) Assert.That(accounts, Does.Contain(sa), $"{Name(w)}: service account");
            foreach (var v in pod["volumes"]?.AsArray() ?? [])
                if ((string?)v!["persistentVolumeClaim"]?["claimName"] is { } claim) Assert.That(claims, Does.Contain(claim), $"{Name(w)}: claim");
            foreach (var c in pod["containers"]!.AsArray().OfType<JsonObject>())
            {
                foreach (var e in c["envFrom"]?.AsArray() ?? [])
                    if ((string?)e!["configMapRef"]?["name"] is { } cm) Assert.That(configMaps, Does.Contain(cm), $"{Name(w)}: envFrom");
                foreach (var e in c["env"]?.AsArray() ?? [])
                {
                    if (e!["valueFrom"]?["secretKeyRef"] is not JsonObject reference || (bool?)reference["optional"] == true) continue;
                    var (secret, key) = ((string)reference["name"]!, (string)reference["key"]!);
                    if (overlay == "prod")
                        // Created outside git; its keys are listed in the overlay's header and the README.
                        Assert.That(File.ReadAllText(Repo.Path("infra", "k8s", "overlays", "prod", "kustomization.yaml")), Does.Contain(key), $"{Name(w)}: {key}");
                    else
                    {
                        Assert.That(secrets.ContainsKey(secret), Is.True, $"{Name(w)}: secret {secret}");
                        Assert.That(secrets[secret], Does.Contain(key), $"{Name(w)}: {secret}.{key}");
                    }
                }
            }
        }
        if (overlay == "prod") Assert.That(_r.OfKind("Secret"), Is.Empty, "prod secrets never come from git");
    }

    [Test]
    public void ServiceIngressAndDisruptionBudgets_SelectTheirPods()
    {
        var pods = _r.Workloads().Select(w => (Name: Name(w), Labels: w["spec"]!["template"]!["metadata"]!["labels"]!.AsObject())).ToList();
        bool Selects(JsonObject selector, JsonObject labels) => selector.All(kv => (string?)labels[kv.Key] == (string?)kv.Value);

        var service = _r.Get("Service", "pipelines-server");
        Assert.That(pods.Where(p => Selects(service["spec"]!["selector"]!.AsObject(), p.Labels)).Select(p => p.Name), Is.EqualTo(new[] { "pipelines-server" }));
        var backend = _r.Get("Ingress", "pipelines-server")["spec"]!["rules"]![0]!["http"]!["paths"]![0]!["backend"]!["service"]!;
        Assert.That((string?)backend["name"], Is.EqualTo("pipelines-server"));
        Assert.That(service["spec"]!["ports"]!.AsArray().Select(p => (string?)p!["name"]), Does.Contain((string?)backend["port"]!["name"]));

        foreach (var pdb in _r.OfKind("PodDisruptionBudget"))
        {
            var matched = pods.Where(p => Selects(pdb["spec"]!["selector"]!["matchLabels"]!.AsObject(), p.Labels)).ToList();
            Assert.That(matched, Has.Count.EqualTo(1), Name(pdb));
        }
        Assert.That(_r.OfKind("PodDisruptionBudget").Select(Name), Is.EquivalentTo(new[] { "pipelines-server", "pipelines-worker" }));
        if (overlay == "prod")
        {
            Assert.That((long?)_r.Get("PodDisruptionBudget", "pipelines-server")["spec"]!["minAvailable"], Is.EqualTo(1));
            Assert.That((long?)_r.Get("Deployment", "pipelines-server")["spec"]!["replicas"], Is.GreaterThanOrEqualTo(2), "minAvailable 1 needs two servers");
            Assert.That(_r.Get("Ingress", "pipelines-server")["spec"]!["tls"], Is.Not.Null);
            Assert.That(_r.Get("PersistentVolumeClaim", "pipelines-mlflow-artifacts")["spec"]!["accessModes"]!.AsArray().Select(x => (string?)x),
                Does.Contain("ReadWriteMany"), "two servers share the MLflow artifact folder");
        }
    }

    [Test]
    public void NetworkPolicies_LetWorkersAndTheIngressReachTheServer_AndNothingReachWorkers()
    {
        var serverIngress = _r.Get("NetworkPolicy", "pipelines-server-ingress")["spec"]!;
        var from = serverIngress["ingress"]![0]!["from"]!.AsArray();
        Assert.That(from.Any(f => (string?)f!["podSelector"]?["matchLabels"]?["app.kubernetes.io/component"] == "worker"), Is.True);
        Assert.That(from.Any(f => f!["namespaceSelector"] is not null), Is.True, "the ingress controller");
        Assert.That(serverIngress["ingress"]![0]!["ports"]!.AsArray().Select(p => (long?)p!["port"]), Does.Contain(8080L));
        var deny = _r.Get("NetworkPolicy", "pipelines-deny-other-ingress")["spec"]!;
        Assert.That(deny["ingress"], Is.Null, "no ingress rule: all inbound traffic to workers and the Job is denied");
        var egressPorts = _r.Get("NetworkPolicy", "pipelines-egress")["spec"]!["egress"]!.AsArray()
            .SelectMany(e => e!["ports"]!.AsArray()).Select(p => (long?)p!["port"]).ToList();
        Assert.That(egressPorts, Is.SupersetOf(new long?[] { 53, 5432, 443, 8080 }));
    }

    [Test]
    public void Workers_AreAutoscaled_AndKeepAtLeastOneLeaderCandidate()
    {
        var worker = _r.Get("Deployment", "pipelines-worker");
        Assert.That(worker["spec"]!["replicas"], Is.Null, "the autoscaler owns the replica count; an apply must not reset it");
        if (overlay == "prod")
        {
            var scaled = _r.Get("ScaledObject", "pipelines-worker")["spec"]!;
            Assert.That((string?)scaled["scaleTargetRef"]!["name"], Is.EqualTo("pipelines-worker"));
            Assert.That((long)scaled["minReplicaCount"]!, Is.GreaterThanOrEqualTo(1));
            var trigger = scaled["triggers"]![0]!;
            Assert.That((string?)trigger["type"], Is.EqualTo("postgresql"));
            var concurrency = (string)_r.Generated("ConfigMap", "pipelines-config")["data"]!["PIPELINES_WORKER_CONCURRENCY"]!;
            Assert.That((string?)trigger["metadata"]!["targetQueryValue"], Is.EqualTo(concurrency), "one worker per concurrency's worth of steps");
            var auth = _r.Get("TriggerAuthentication", (string)trigger["authenticationRef"]!["name"]!);
            Assert.That((string?)auth["spec"]!["secretTargetRef"]![0]!["parameter"], Is.EqualTo("connection"));
            Assert.That(_r.OfKind("HorizontalPodAutoscaler"), Is.Empty, "KEDA creates its own HPA");
        }
        else
        {
            var hpa = _r.Get("HorizontalPodAutoscaler", "pipelines-worker")["spec"]!;
            Assert.That((string?)hpa["scaleTargetRef"]!["name"], Is.EqualTo("pipelines-worker"));
            Assert.That((long)hpa["minReplicas"]!, Is.GreaterThanOrEqualTo(1));
        }
    }
}
