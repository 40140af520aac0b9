using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using static SegCluster.EndToEnd.Tests.HelmRenderer;
using static SegCluster.EndToEnd.Tests.HelmTemplate;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// What the chart's node pods must carry for the node as it is (Redis clustering, not Orleans' Kubernetes hosting),
/// asserted on the chart as helm renders it (<see cref="HelmRenderer"/>): identity from the Downward API, Node:ClusterId
/// per release, the token Secret, processors from the CPU request, liveness vs readiness, least privilege.
/// </summary>
public sealed class HelmNodePodTests
{
    private static readonly string Templates = RepoPaths.Of("helm", "segcluster", "templates");
    private static readonly Dictionary<object, object> Values = DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"));
    private const string ClusterId = "SEGCLUSTER_Node__ClusterId";

    [RequiresHelmFact]
    public void Identity_cluster_id_and_token_reach_the_node_settings()
    {
        var render = Defaults;
        Assert.Equal("$(POD_NAME)", render.Value("SEGCLUSTER_Node__NodeId"));
        Assert.Equal("metadata.name", FieldRef(render, "POD_NAME"));
        Assert.Equal("$(POD_IP)", render.Value("SEGCLUSTER_Node__AdvertiseHost"));
        Assert.Equal("status.podIP", FieldRef(render, "POD_IP"));
        Assert.Equal($"{Namespace}-{FullName}", render.Value(ClusterId));
        var (secret, key) = SecretRef(render, "SEGCLUSTER_Node__Token");
        Assert.Equal(($"{FullName}-token", "token"), (secret, key));
        Assert.Matches("^[A-Za-z0-9]{32}$", render.SecretValue(secret, key));

        // Kubernetes expands $(X) only from variables defined earlier in the list.
        var names = render.NodeEnv.Select(e => (string)e["name"]).ToList();
        foreach (var (variable, i) in render.NodeEnv.Select((e, i) => (e, i)))
            foreach (Match reference in Regex.Matches(variable.GetValueOrDefault("value") as string ?? "", @"\$\((\w+)\)"))
                Assert.True(names.IndexOf(reference.Groups[1].Value) is >= 0 and var at && at < i,
                    $"{variable["name"]} uses {reference} before it is defined");
    }

    [RequiresHelmFact]
    public void The_cluster_id_defaults_to_one_of_this_release_so_two_releases_on_one_redis_stay_apart()
    {
        // A fixed default ("segcluster") made every release on a shared Redis join one Orleans cluster (and ServiceId).
        Assert.Equal("team-a-rel-segcluster", Defaults.Value(ClusterId));
        Assert.Equal("team-a-other-segcluster", TemplateWith(null, "other").Value(ClusterId));
        Assert.Equal("segcluster", Template("orleans.clusterId=segcluster").Value(ClusterId));

        // An upgrade keeps the id its nodes run with (a release installed with "segcluster" keeps its stored runs): the
        // running StatefulSet's, which only a render against a cluster (lookup) can show.
        var define = Define("segcluster.clusterId");
        Assert.Contains("lookup \"apps/v1\" \"StatefulSet\" .Release.Namespace (include \"segcluster.fullname\" .)", define);
        Assert.Contains("if eq .name \"SEGCLUSTER_Node__ClusterId\"", define);
        Assert.EndsWith("{{- include \"segcluster.scalar\" .Values.orleans.clusterId | default $running | default (printf \"%s-%s\" .Release.Namespace (include \"segcluster.fullname\" .)) -}}", define);
        // NOTES (which `helm template` does not render) prints the same id; no template reads the value around the helper.
        Assert.Contains("include \"segcluster.clusterId\" .", File.ReadAllText(Path.Combine(Templates, "NOTES.txt")));
        foreach (var template in Directory.GetFiles(Templates))
            Assert.DoesNotContain(".Values.orleans.clusterId", Path.GetFileName(template) == "_helpers.tpl" ? "" : File.ReadAllText(template));
    }

    [RequiresHelmFact]
    public void The_gradient_data_plane_listens_on_the_values_port_range_which_compose_shares()
    {
        // Without Collectives:DataPlanePorts every ring rank listens on a random ephemeral port: no NetworkPolicy between
        // node pods can open it, and the gradients (raw TCP, not the collective port) never arrive.
        var range = Defaults.Value("SEGCLUSTER_Collectives__DataPlanePorts");
        Assert.True(SegCluster.Collectives.Tcp.DataPlanePortRange.TryParse(range, out var parsed), $"SEGCLUSTER_Collectives__DataPlanePorts \"{range}\" is not FIRST-LAST");
        // One port per ring a node is in at a time: at least one per GPU of an 8-GPU node.
        Assert.InRange(parsed.Last - parsed.First + 1, 8, 1024);
        foreach (var port in List(Defaults.NodeContainer["ports"]).Select(Map))
            Assert.False(int.Parse((string)port["containerPort"]) is var p && p >= parsed.First && p <= parsed.Last, $"port {port["name"]} lies in the data plane {range}");
        // Empty: any free port, and no setting.
        Assert.DoesNotContain(Template("ports.dataPlane=").NodeEnv, e => Equals(e["name"], "SEGCLUSTER_Collectives__DataPlanePorts"));

        var services = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("docker-compose.yml"))["services"]);
        foreach (var node in new[] { "node1", "node2" })
            Assert.Equal(range, Map(Map(services[node])["environment"])["SEGCLUSTER_Collectives__DataPlanePorts"]);
    }

    [RequiresHelmFact]
    public void A_redis_configuration_with_a_password_comes_from_a_secret()
    {
        // "host:port,password=..." as a plain env value is readable by whoever can read the StatefulSet: the bundled
        // Redis' generated Secret or redis.existingSecret is read through secretKeyRef, only a password-less
        // redis.external is a plain value.
        const string Redis = "SEGCLUSTER_Node__Redis";
        var bundled = Defaults;
        var (secret, key) = SecretRef(bundled, Redis);
        Assert.Equal(($"{FullName}-redis", "connection"), (secret, key));
        Assert.Equal($"{FullName}-redis:6379,password={bundled.SecretValue(secret, "password")}", bundled.SecretValue(secret, key));
        Assert.Equal(6379, RedisServicePort(bundled, $"{FullName}-redis"));

        var existing = Template("redis.bundled=false", "redis.existingSecret=shared-redis", "redis.secretKey=conn");
        Assert.Equal(("shared-redis", "conn"), SecretRef(existing, Redis));
        Assert.Null(existing.Find("Secret", $"{FullName}-redis"));
        Assert.Null(existing.Find("StatefulSet", $"{FullName}-redis"));

        var external = Template("redis.bundled=false", "redis.external=redis.example:6379");
        Assert.Equal("redis.example:6379", external.Value(Redis));
        Assert.False(external.Variable(Redis).ContainsKey("valueFrom"));
        Assert.Contains("redis.external must be host:port (or set redis.existingSecret) when redis.bundled is false", TemplateError("redis.bundled=false"));

        foreach (var render in new[] { bundled, existing, external })
            Assert.DoesNotContain(render.NodeEnv, e => (e.GetValueOrDefault("value") as string ?? "").Contains("password", StringComparison.Ordinal));
    }

    [RequiresHelmFact]
    public void Gpu_pods_can_name_the_runtime_class_that_exposes_gpus()
    {
        // Where the NVIDIA runtime is not containerd's default, a pod without its RuntimeClass sees no GPU.
        Assert.False(Map(Defaults.NodePod["spec"]).ContainsKey("runtimeClassName"));
        Assert.Equal("nvidia", Map(Template("nodes.runtimeClassName=nvidia").NodePod["spec"])["runtimeClassName"]);
    }

    [RequiresHelmFact]
    public void Gpu_pods_request_their_gpus_and_run_one_worker_on_each()
    {
        var gpu = Template("nodes.gpusPerNode=2");
        Assert.Equal("2", Map(Map(gpu.NodeContainer["resources"])["limits"])["nvidia.com/gpu"]);
        Assert.Equal(["cuda:0", "cuda:1"], Devices(gpu));
        // NVML (device memory in /metrics) numbers GPUs in PCI order: cuda:N is the GPU of the same number.
        Assert.Equal("PCI_BUS_ID", gpu.Value("CUDA_DEVICE_ORDER"));

        Assert.Equal(["cpu"], Devices(Defaults));
        Assert.Null(Defaults.Value("CUDA_DEVICE_ORDER"));
        Assert.False(Map(Defaults.NodeContainer["resources"]).GetValueOrDefault("limits") is Dictionary<object, object> limits && limits.ContainsKey("nvidia.com/gpu"));
    }

    [RequiresHelmFact]
    public void Dotnet_processors_come_from_the_cpu_request()
    {
        // The computed resources always request CPUs; given ones must (values.schema.json: HelmValuesSchemaTests).
        foreach (var render in new[] { Defaults, Template("nodes.gpusPerNode=8"), Template("nodes.resources.requests.cpu=3") })
        {
            var field = Map(Map(render.Variable("DOTNET_PROCESSOR_COUNT")["valueFrom"])["resourceFieldRef"]);
            Assert.Equal("requests.cpu", field["resource"]);
            Assert.Equal(render.NodeContainer["name"], field["containerName"]);
            Assert.True(Map(Map(render.NodeContainer["resources"])["requests"]).ContainsKey("cpu"));
        }
    }

    [RequiresHelmFact]
    public void Liveness_is_health_and_readiness_is_the_silo_on_the_http_port()
    {
        var container = Defaults.NodeContainer;
        var liveness = Map(Map(container["livenessProbe"])["httpGet"]);
        var readiness = Map(Map(container["readinessProbe"])["httpGet"]);
        Assert.Equal("/health", liveness["path"]);
        Assert.Equal("/health/ready", readiness["path"]);
        Assert.All(new[] { liveness, readiness }, probe => Assert.Equal("http", probe["port"]));
        var http = List(container["ports"]).Select(Map).Single(p => (string)p["name"] == "http");
        Assert.Equal(Defaults.Value("SEGCLUSTER_Node__HttpPort"), http["containerPort"]);
        Assert.Equal("9090", List(Template("ports.http=9090").NodeContainer["ports"]).Select(Map).Single(p => (string)p["name"] == "http")["containerPort"]);
    }

    [RequiresHelmFact]
    public void A_startup_probe_holds_off_liveness_for_minutes_while_the_node_starts()
    {
        // Liveness alone (initialDelay + period × failures, about 50 s) restarts a node still joining a slow Redis;
        // Kubernetes runs liveness and readiness only once the startup probe has passed.
        var container = Defaults.NodeContainer;
        var startup = Map(container["startupProbe"]);
        var get = Map(startup["httpGet"]);
        Assert.Equal("/health", get["path"]);
        Assert.Equal("http", get["port"]);
        var liveness = Map(container["livenessProbe"]);
        var startupSeconds = Seconds(startup, "periodSeconds") * Seconds(startup, "failureThreshold");
        var livenessSeconds = Seconds(liveness, "initialDelaySeconds") + Seconds(liveness, "periodSeconds") * Seconds(liveness, "failureThreshold");
        Assert.True(startupSeconds >= 300 && startupSeconds > livenessSeconds, $"startup probe allows {startupSeconds} s, liveness {livenessSeconds} s");
    }

    [RequiresHelmFact]
    public void Pods_get_time_to_cancel_their_training_loops_and_the_update_strategy_is_a_value()
    {
        // SIGKILL before a cancelled loop has stopped (WorkerGrain waits CancelledLoopGrace for it) or before a checkpoint's
        // rename loses the work since the last checkpoint; Kubernetes' default is 30 s.
        var grace = typeof(SegCluster.Cluster.Grains.WorkerGrain).GetField("CancelledLoopGrace",
            System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)?.GetValue(null);
        var loop = Assert.IsType<TimeSpan>(grace);
        var seconds = int.Parse((string)Map(Defaults.NodePod["spec"])["terminationGracePeriodSeconds"]);
        Assert.True(seconds >= loop.TotalSeconds + 30, $"terminationGracePeriodSeconds {seconds} leaves under 30 s past the loop's {loop.TotalSeconds} s for a checkpoint");

        // The host's own shutdown limit (.NET's default 30 s) follows the grace, 10 s inside it (at least 1 s), as a
        // TimeSpan the node binds: d.hh:mm:ss, so a grace of an hour or a day still parses (00:60:00 would not).
        foreach (var (render, given) in new[] { (Defaults, seconds), (Template("nodes.terminationGracePeriodSeconds=5"), 5),
                     (Template("nodes.terminationGracePeriodSeconds=100000"), 100000) })
        {
            Assert.Equal(given.ToString(CultureInfo.InvariantCulture), Map(render.NodePod["spec"])["terminationGracePeriodSeconds"]);
            Assert.Equal(TimeSpan.FromSeconds(Math.Max(1, given - 10)),
                TimeSpan.ParseExact(render.Value("SEGCLUSTER_Node__ShutdownTimeout")!, @"d\.hh\:mm\:ss", CultureInfo.InvariantCulture));
        }

        // RollingUpdate (with a partition) or OnDelete, which Kubernetes refuses with a rollingUpdate.
        Assert.Equal("RollingUpdate:partition=0", Strategy(Defaults));
        Assert.Equal("RollingUpdate:partition=1", Strategy(Template("nodes.updateStrategy.rollingUpdate.partition=1")));
        Assert.Equal("OnDelete", Strategy(Template("nodes.updateStrategy.type=OnDelete")));
    }

    [RequiresHelmFact]
    public void The_disruption_budget_lets_drains_evict_one_pod_at_a_time_by_default()
    {
        // maxUnavailable 0 refuses every eviction: `kubectl drain` of a node hosting a pod waits forever.
        var spec = Map(Defaults.Get("PodDisruptionBudget", FullName)["spec"]);
        Assert.Equal("1", spec["maxUnavailable"]);
        Assert.Equal(Rendered.Labels(Defaults.NodePod), Map(Map(spec["selector"])["matchLabels"]));
        Assert.Empty(Template("podDisruptionBudget.enabled=false").OfKind("PodDisruptionBudget"));
    }

    [RequiresHelmFact]
    public void Without_a_chart_service_account_the_pods_use_the_named_one_or_default()
    {
        // With serviceAccount.create false the pod must name an account that exists: serviceAccount.name, else the
        // namespace's "default" (not the release name nobody created).
        Assert.Equal(FullName, AccountOf(Defaults));
        Assert.Equal("false", Defaults.Get("ServiceAccount", FullName)["automountServiceAccountToken"]);
        Assert.Equal("trainer", AccountOf(Template("serviceAccount.name=trainer")));
        Assert.NotNull(Template("serviceAccount.name=trainer").Find("ServiceAccount", "trainer"));
        var existing = Template("serviceAccount.create=false");
        Assert.Equal("default", AccountOf(existing));
        Assert.Empty(existing.OfKind("ServiceAccount"));
        Assert.Equal("builder", AccountOf(Template("serviceAccount.create=false", "serviceAccount.name=builder")));
    }

    [RequiresHelmFact]
    public void The_token_is_kept_on_upgrade_and_a_changed_one_rolls_the_pods()
    {
        // Pods read the token once (env from the Secret): a changed one, set or generated, must restart them. The hash is
        // of the value the chart's Secret holds, generated (one value per render: the Secret's and the hash's agree)
        // or given; a token.existingSecret is not the chart's, and gets none.
        const string Checksum = "checksum/token";
        var generated = Defaults.SecretValue($"{FullName}-token", "token");
        Assert.Equal(Sha256(generated), Rendered.Annotations(Defaults.NodePod)[Checksum]);
        var given = Template("token.value=0123456789abcdef0123456789abcdef");
        Assert.Equal("0123456789abcdef0123456789abcdef", given.SecretValue($"{FullName}-token", "token"));
        Assert.Equal(Sha256("0123456789abcdef0123456789abcdef"), Rendered.Annotations(given.NodePod)[Checksum]);

        var existing = Template("token.existingSecret=cluster-token");
        Assert.Null(existing.Find("Secret", $"{FullName}-token"));
        Assert.Null(existing.Find("Secret", "cluster-token"));
        Assert.Equal(("cluster-token", "token"), SecretRef(existing, "SEGCLUSTER_Node__Token"));
        Assert.False(Rendered.Annotations(existing.NodePod).ContainsKey(Checksum));

        // Kept on upgrade: token.value, else the token of the Secret already in the cluster (lookup, which no render
        // here reaches), else a random one (segcluster.keptSecretValue, like the Redis password); a random token at every
        // upgrade would leave running pods on the old one and new pods on the new one.
        Assert.Equal("{{- include \"segcluster.keptSecretValue\" (dict \"context\" . \"secret\" (include \"segcluster.tokenSecretName\" .) \"key\" \"token\" \"value\" .Values.token.value) -}}",
            Define("segcluster.token"));
        Assert.Contains("helm template", File.ReadAllText(RepoPaths.Of("helm", "segcluster", "values.yaml")));
    }

    [RequiresHelmFact]
    public void Nothing_Orleans_Kubernetes_hosting_would_need_is_left_and_the_pods_get_no_api_access()
    {
        // The node clusters through Redis: Kubernetes-hosting labels, ORLEANS_* variables and a pod Role would do nothing.
        var render = Template("serviceMonitor.enabled=true", "nodes.gpusPerNode=1");
        Assert.DoesNotContain(Rendered.Labels(render.NodePod), l => ((string)l.Key).StartsWith("orleans/"));
        Assert.DoesNotContain(render.NodeEnv, e => ((string)e["name"]).StartsWith("ORLEANS_") || (string)e["name"] == "POD_NAMESPACE");
        Assert.DoesNotContain(render.Objects, o => ((string)o["kind"]).EndsWith("Role", StringComparison.Ordinal) || ((string)o["kind"]).EndsWith("RoleBinding", StringComparison.Ordinal));
        Assert.Equal("false", Map(render.NodePod["spec"])["automountServiceAccountToken"]);
        Assert.Equal("false", render.Get("ServiceAccount", FullName)["automountServiceAccountToken"]);
        // The bundled Redis runs as the namespace's default account, whose token would be mounted.
        Assert.Equal("false", Map(render.RedisPod["spec"])["automountServiceAccountToken"]);
    }

    /// <summary>A values file's numbers reach helm as floats (--set's digits as integers), which print in exponent form
    /// from a million on: an image tag, cluster id, token or Redis password of digits must render as written (they
    /// rendered segcluster-node:2.0240101e+07 and a token 1.2345678e+07 that no client types), and a number that is not
    /// an integer (tag: 1.10, which YAML reads as 1.1) is refused by the schema rather than rendered as 1.1.</summary>
    [RequiresHelmFact]
    public void Numeric_values_render_as_written()
    {
        var render = TemplateWith("image:\n  tag: 20240101\norleans:\n  clusterId: 12345678\ntoken:\n  value: 12345678\nredis:\n  auth:\n    password: 87654321\n", Release);
        Assert.Equal("segcluster-node:20240101", render.NodeContainer["image"]);
        Assert.Equal("12345678", render.Value(ClusterId));
        Assert.Equal("12345678", render.SecretValue($"{FullName}-token", "token"));
        Assert.Equal("87654321", render.SecretValue($"{FullName}-redis", "password"));
        Assert.Equal("segcluster-node:20240101", Template("image.tag=20240101").NodeContainer["image"]);
        Assert.Equal("segcluster-node:1.10", Template("image.tag=1.10").NodeContainer["image"]);  // --set keeps it a string
        Assert.Contains("image.tag: Invalid type", TemplateErrorWith("image:\n  tag: 1.10\n"));
    }

    private static object FieldRef(Rendered render, string name) => Map(Map(render.Variable(name)["valueFrom"])["fieldRef"])["fieldPath"];

    /// <summary>The Secret and key a variable of the node container reads.</summary>
    internal static (string Name, string Key) SecretRef(Rendered render, string variable)
    {
        var reference = Map(Map(render.Variable(variable)["valueFrom"])["secretKeyRef"]);
        return ((string)reference["name"], (string)reference["key"]);
    }

    internal static string Sha256(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    private static int RedisServicePort(Rendered render, string service) =>
        int.Parse((string)Map(Assert.Single(List(Map(render.Get("Service", service)["spec"])["ports"])))["port"]);

    private static List<string> Devices(Rendered render) =>
        [.. render.NodeEnv.Where(e => ((string)e["name"]).StartsWith("SEGCLUSTER_Node__Devices__")).Select(e => (string)e["value"])];

    private static int Seconds(Dictionary<object, object> probe, string key) => int.Parse((string)probe[key]);

    private static string AccountOf(Rendered render) => (string)Map(render.NodePod["spec"])["serviceAccountName"];

    private static string Strategy(Rendered render)
    {
        var strategy = Map(Map(render.Get("StatefulSet", FullName)["spec"])["updateStrategy"]);
        return strategy.TryGetValue("rollingUpdate", out var rolling)
            ? $"{strategy["type"]}:{string.Join(",", Map(rolling).Select(kv => $"{kv.Key}={kv.Value}"))}"
            : (string)strategy["type"];
    }
}
