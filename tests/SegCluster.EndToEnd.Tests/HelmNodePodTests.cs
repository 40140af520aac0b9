namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// What the chart's node pods must carry for the node as it is (Redis clustering, not Orleans' Kubernetes hosting),
/// asserted on the parsed templates (<see cref="HelmTemplate"/>): identity from the Downward API, Node:ClusterId
/// from orleans.clusterId, the token Secret, processors from the CPU request, liveness vs readiness, least privilege.
/// </summary>
public sealed class HelmNodePodTests
{
    private static readonly string Templates = RepoPaths.Of("helm", "segcluster", "templates");
    private static readonly Dictionary<object, object> Pod = Map(Map(HelmTemplate.Load(Path.Combine(Templates, "statefulset.yaml"))["spec"])["template"]);
    private static readonly Dictionary<object, object> Container = Map(Assert.Single(List(Map(Pod["spec"])["containers"])));
    private static readonly List<Dictionary<object, object>> Env = [.. List(Container["env"]).Select(Map)];

    [Fact]
    public void Identity_cluster_id_and_token_reach_the_node_settings()
    {
        Assert.Equal("$(POD_NAME)", Value("SEGCLUSTER_Node__NodeId"));
        Assert.Equal("metadata.name", FieldRef("POD_NAME"));
        Assert.Equal("$(POD_IP)", Value("SEGCLUSTER_Node__AdvertiseHost"));
        Assert.Equal("status.podIP", FieldRef("POD_IP"));
        Assert.Equal(HelmTemplate.Action("include \"segcluster.clusterId\" . | quote"), Value("SEGCLUSTER_Node__ClusterId"));
        Assert.Equal("token", Map(Map(Variable("SEGCLUSTER_Node__Token")["valueFrom"])["secretKeyRef"])["key"]);

        // Kubernetes expands $(X) only from variables defined earlier in the list.
        var names = Env.Select(e => (string)e["name"]).ToList();
        foreach (var (variable, i) in Env.Select((e, i) => (e, i)))
            foreach (var reference in System.Text.RegularExpressions.Regex.Matches(variable.GetValueOrDefault("value") as string ?? "", @"\$\((\w+)\)"))
                Assert.True(names.IndexOf(((System.Text.RegularExpressions.Match)reference).Groups[1].Value) is >= 0 and var at && at < i,
                    $"{variable["name"]} uses {reference} before it is defined");
    }

    [Fact]
    public void The_cluster_id_defaults_to_one_of_this_release_so_two_releases_on_one_redis_stay_apart()
    {
        // A fixed default ("segcluster") made every release on a shared Redis join one Orleans cluster (and ServiceId).
        // An upgrade keeps the id its nodes run with (a release installed with "segcluster" keeps its stored runs).
        var define = Define("segcluster.clusterId");
        Assert.Contains("lookup \"apps/v1\" \"StatefulSet\" .Release.Namespace (include \"segcluster.fullname\" .)", define);
        Assert.Contains("if eq .name \"SEGCLUSTER_Node__ClusterId\"", define);
        Assert.EndsWith("{{- .Values.orleans.clusterId | default $running | default (printf \"%s-%s\" .Release.Namespace (include \"segcluster.fullname\" .)) -}}", define);
        Assert.Equal("", Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["orleans"])["clusterId"]);
        Assert.Contains("include \"segcluster.clusterId\" .", File.ReadAllText(Path.Combine(Templates, "NOTES.txt")));
        foreach (var template in Directory.GetFiles(Templates))
            Assert.DoesNotContain(".Values.orleans.clusterId", Path.GetFileName(template) == "_helpers.tpl" ? "" : File.ReadAllText(template));
    }

    [Fact]
    public void The_gradient_data_plane_listens_on_the_values_port_range_which_compose_shares()
    {
        // Without Collectives:DataPlanePorts every ring rank listens on a random ephemeral port: no NetworkPolicy between
        // node pods can open it, and the gradients (raw TCP, not the collective port) never arrive.
        Assert.Equal(HelmTemplate.Action(". | quote"), Value("SEGCLUSTER_Collectives__DataPlanePorts"));
        Assert.Matches(@"\{\{-\s*with \.Values\.ports\.dataPlane\s*\}\}\n(\s*#[^\n]*\n)*\s*- name: SEGCLUSTER_Collectives__DataPlanePorts\n",
            File.ReadAllText(Path.Combine(Templates, "statefulset.yaml")));

        var ports = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["ports"]);
        var range = (string)ports["dataPlane"];
        Assert.True(SegCluster.Collectives.Tcp.DataPlanePortRange.TryParse(range, out var parsed), $"ports.dataPlane \"{range}\" is not FIRST-LAST");
        // One port per ring a node is in at a time: at least one per GPU of an 8-GPU node.
        Assert.InRange(parsed.Last - parsed.First + 1, 8, 1024);
        foreach (var other in new[] { "http", "collective", "silo", "gateway" })
            Assert.False(int.Parse((string)ports[other]) is var port && port >= parsed.First && port <= parsed.Last, $"ports.{other} lies in ports.dataPlane {range}");

        var services = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("docker-compose.yml"))["services"]);
        foreach (var node in new[] { "node1", "node2" })
            Assert.Equal(range, Map(Map(services[node])["environment"])["SEGCLUSTER_Collectives__DataPlanePorts"]);
    }

    [Fact]
    public void A_redis_configuration_with_a_password_comes_from_a_secret()
    {
        // "host:port,password=..." as a plain env value is readable by whoever can read the StatefulSet: the bundled
        // Redis' generated Secret or redis.existingSecret is read through secretKeyRef, only a password-less
        // redis.external is a plain value.
        var redis = Variable("SEGCLUSTER_Node__Redis");
        var secret = Map(Map(redis["valueFrom"])["secretKeyRef"]);
        Assert.Equal(HelmTemplate.Action(". | quote"), secret["name"]);
        Assert.Equal(HelmTemplate.Action("include \"segcluster.redisSecretKey\" $ | quote"), secret["key"]);
        Assert.Equal(HelmTemplate.Action("include \"segcluster.redisAddress\" . | quote"), redis["value"]);
        var statefulset = File.ReadAllText(Path.Combine(Templates, "statefulset.yaml"));
        var entry = statefulset[statefulset.IndexOf("- name: SEGCLUSTER_Node__Redis", StringComparison.Ordinal)..];
        InOrder("statefulset.yaml", entry[..entry.IndexOf("- name:", 1, StringComparison.Ordinal)],
            "{{- with include \"segcluster.redisSecretName\" . }}", "valueFrom:", "{{- else }}", "value: {{ include", "{{- end }}");

        // The Secret: the bundled Redis' own (key "connection", which redis.yaml writes), else redis.existingSecret.
        Assert.Matches(@"^\{\{-\s*if \.Values\.redis\.bundled\s*-\}\}\s*\{\{-\s*printf ""%s-redis"" \(include ""segcluster\.fullname"" \.\)\s*-\}\}\s*"
            + @"\{\{-\s*else\s*-\}\}\s*\{\{-\s*\.Values\.redis\.existingSecret\s*-\}\}\s*\{\{-\s*end\s*-\}\}$", Define("segcluster.redisSecretName"));
        Assert.Matches(@"^\{\{-\s*if \.Values\.redis\.bundled\s*-\}\}\s*connection\s*\{\{-\s*else\s*-\}\}\s*\{\{-\s*\.Values\.redis\.secretKey\s*-\}\}\s*\{\{-\s*end\s*-\}\}$",
            Define("segcluster.redisSecretKey"));

        var values = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["redis"]);
        Assert.Equal("", values["existingSecret"]);
        Assert.False(string.IsNullOrEmpty(values["secretKey"] as string));
    }

    [Fact]
    public void Gpu_pods_can_name_the_runtime_class_that_exposes_gpus()
    {
        // Where the NVIDIA runtime is not containerd's default, a pod without its RuntimeClass sees no GPU.
        Assert.Equal(HelmTemplate.Action(". | quote"), Map(Pod["spec"])["runtimeClassName"]);
        Assert.Matches(@"\{\{-\s*with \.Values\.nodes\.runtimeClassName\s*\}\}\n(\s*#[^\n]*\n)*\s*runtimeClassName: ",
            File.ReadAllText(Path.Combine(Templates, "statefulset.yaml")));
        Assert.Equal("", Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["nodes"])["runtimeClassName"]);
    }

    [Fact]
    public void Dotnet_processors_come_from_the_cpu_request()
    {
        var field = Map(Map(Variable("DOTNET_PROCESSOR_COUNT")["valueFrom"])["resourceFieldRef"]);
        Assert.Equal("requests.cpu", field["resource"]);
        Assert.Equal(Container["name"], field["containerName"]);
        // The computed resources always request CPUs; given ones must (values.schema.json): HelmValuesSchemaTests.
        Assert.Contains("  cpu: {{ mul $each.cpu $count | quote }}", Define("segcluster.nodeResources"));
    }

    [Fact]
    public void Liveness_is_health_and_readiness_is_the_silo_on_the_http_port()
    {
        var liveness = Map(Map(Container["livenessProbe"])["httpGet"]);
        var readiness = Map(Map(Container["readinessProbe"])["httpGet"]);
        Assert.Equal("/health", liveness["path"]);
        Assert.Equal("/health/ready", readiness["path"]);
        var http = List(Container["ports"]).Select(Map).Single(p => (string)p["name"] == "http");
        Assert.Equal(HelmTemplate.Action(".Values.ports.http"), http["containerPort"]);
        Assert.All(new[] { liveness, readiness }, probe => Assert.Equal("http", probe["port"]));
    }

    [Fact]
    public void A_startup_probe_holds_off_liveness_for_minutes_while_the_node_starts()
    {
        // Liveness alone (initialDelay + period × failures, about 50 s) restarts a node still joining a slow Redis;
        // Kubernetes runs liveness and readiness only once the startup probe has passed.
        var startup = Map(Container["startupProbe"]);
        var get = Map(startup["httpGet"]);
        Assert.Equal("/health", get["path"]);
        Assert.Equal("http", get["port"]);
        Assert.Equal(HelmTemplate.Action(".Values.probes.startup.periodSeconds"), startup["periodSeconds"]);
        Assert.Equal(HelmTemplate.Action(".Values.probes.startup.failureThreshold"), startup["failureThreshold"]);

        var probes = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["probes"]);
        var values = Map(probes["startup"]);
        var startupSeconds = int.Parse((string)values["periodSeconds"]) * int.Parse((string)values["failureThreshold"]);
        var livenessSeconds = int.Parse((string)probes["initialDelaySeconds"]) + int.Parse((string)probes["periodSeconds"]) * int.Parse((string)probes["failureThreshold"]);
        Assert.True(startupSeconds >= 300 && startupSeconds > livenessSeconds, $"startup probe allows {startupSeconds} s, liveness {livenessSeconds} s");
        Assert.Equal("/health", Map(Map(Container["livenessProbe"])["httpGet"])["path"]);
        Assert.Equal("/health/ready", Map(Map(Container["readinessProbe"])["httpGet"])["path"]);
    }

    [Fact]
    public void Pods_get_time_to_cancel_their_training_loops_and_the_update_strategy_is_a_value()
    {
        // SIGKILL before a cancelled loop has stopped (WorkerGrain waits CancelledLoopGrace for it) or before a checkpoint's
        // rename loses the work since the last checkpoint; Kubernetes' default is 30 s.
        Assert.Equal(HelmTemplate.Action(".Values.nodes.terminationGracePeriodSeconds"), Map(Pod["spec"])["terminationGracePeriodSeconds"]);
        var grace = typeof(SegCluster.Cluster.Grains.WorkerGrain).GetField("CancelledLoopGrace",
            System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)?.GetValue(null);
        var loop = Assert.IsType<TimeSpan>(grace);
        var nodes = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["nodes"]);
        var seconds = int.Parse((string)nodes["terminationGracePeriodSeconds"]);
        Assert.True(seconds >= loop.TotalSeconds + 30, $"terminationGracePeriodSeconds {seconds} leaves under 30 s past the loop's {loop.TotalSeconds} s for a checkpoint");
        // The host's own shutdown limit (.NET's default 30 s) follows the grace, 10 s inside it, as a TimeSpan the node binds.
        // d.hh:mm:ss, so a grace of an hour or more still parses (00:60:00 would not).
        Assert.Equal(HelmTemplate.Action("printf '%d.%02d:%02d:%02d' (div $shutdown 86400) (div (mod $shutdown 86400) 3600) (div (mod $shutdown 3600) 60) (mod $shutdown 60) | quote"),
            Variable("SEGCLUSTER_Node__ShutdownTimeout")["value"]);
        Assert.Contains("{{- $shutdown := max 1 (sub (int .Values.nodes.terminationGracePeriodSeconds) 10) }}", File.ReadAllText(Path.Combine(Templates, "statefulset.yaml")));

        // RollingUpdate (with a partition) or OnDelete, which Kubernetes refuses with a rollingUpdate.
        var strategy = Map(Map(HelmTemplate.Load(Path.Combine(Templates, "statefulset.yaml"))["spec"])["updateStrategy"]);
        Assert.Equal(HelmTemplate.Action(".Values.nodes.updateStrategy.type"), strategy["type"]);
        Assert.Matches(@"\{\{-\s*if eq \.Values\.nodes\.updateStrategy\.type ""RollingUpdate""\s*\}\}\n\s*\{\{-\s*with \.Values\.nodes\.updateStrategy\.rollingUpdate\s*\}\}\n\s*rollingUpdate:",
            File.ReadAllText(Path.Combine(Templates, "statefulset.yaml")));
        var values = Map(nodes["updateStrategy"]);
        Assert.Equal("RollingUpdate", values["type"]);
        Assert.Equal("0", Map(values["rollingUpdate"])["partition"]);
    }

    [Fact]
    public void The_disruption_budget_lets_drains_evict_one_pod_at_a_time_by_default()
    {
        // maxUnavailable 0 refuses every eviction: `kubectl drain` of a node hosting a pod waits forever.
        Assert.Equal(HelmTemplate.Action(".Values.podDisruptionBudget.maxUnavailable"), Map(HelmTemplate.Load(Path.Combine(Templates, "pdb.yaml"))["spec"])["maxUnavailable"]);
        var budget = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["podDisruptionBudget"]);
        Assert.Equal("true", budget["enabled"]);
        Assert.Equal("1", budget["maxUnavailable"]);
    }

    [Fact]
    public void Without_a_chart_service_account_the_pods_use_the_named_one_or_default()
    {
        // The pod's serviceAccountName comes from the helper; with serviceAccount.create false it must name an account
        // that exists: serviceAccount.name, else the namespace's "default" (not the release name nobody created).
        Assert.Equal(HelmTemplate.Action("include \"segcluster.serviceAccountName\" ."), Map(Pod["spec"])["serviceAccountName"]);
        var helper = Define("segcluster.serviceAccountName");
        var branches = System.Text.RegularExpressions.Regex.Match(helper,
            @"^\{\{-?\s*if\s+\.Values\.serviceAccount\.create\s*-?\}\}(?<create>.*)\{\{-?\s*else\s*-?\}\}(?<existing>.*)\{\{-?\s*end\s*-?\}\}$",
            System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(branches.Success, "segcluster.serviceAccountName is not {{ if .Values.serviceAccount.create }} ... {{ else }} ... {{ end }}:\n" + helper);
        Assert.Matches(@"^\{\{-?\s*default \(include ""segcluster\.fullname"" \.\) \.Values\.serviceAccount\.name\s*-?\}\}$", branches.Groups["create"].Value.Trim());
        Assert.Matches(@"^\{\{-?\s*default ""default"" \.Values\.serviceAccount\.name\s*-?\}\}$", branches.Groups["existing"].Value.Trim());
    }

    [Fact]
    public void The_token_is_kept_on_upgrade_and_a_changed_one_rolls_the_pods()
    {
        // secret.yaml: token.value, else the token of the Secret already in the cluster (lookup), else a random one
        // (segcluster.keptSecretValue, like the Redis password); a random token at every upgrade would leave running pods
        // on the old one and new pods on the new one.
        var secret = HelmTemplate.Load(Path.Combine(Templates, "secret.yaml"));
        Assert.Equal(HelmTemplate.Action("include \"segcluster.tokenSecretName\" ."), Map(secret["metadata"])["name"]);
        Assert.Equal(HelmTemplate.Action("include \"segcluster.token\" . | b64enc | quote"), Map(secret["data"])["token"]);
        Assert.Equal("{{- include \"segcluster.keptSecretValue\" (dict \"context\" . \"secret\" (include \"segcluster.tokenSecretName\" .) \"key\" \"token\" \"value\" .Values.token.value) -}}",
            Define("segcluster.token"));

        // Pods read the token once (env from the Secret): a changed one, set or generated, must restart them. The hash is
        // of the value the chart's Secret keeps; a token.existingSecret is not the chart's, and gets none.
        var annotations = Map(Map(Pod["metadata"])["annotations"]);
        Assert.Equal(HelmTemplate.Action("include \"segcluster.token\" . | sha256sum | quote"), annotations["checksum/token"]);
        Assert.Matches(@"\{\{-\s*if not \.Values\.token\.existingSecret\s*\}\}\s*\n\s*checksum/token:", File.ReadAllText(Path.Combine(Templates, "statefulset.yaml")));
        Assert.Contains("helm template", File.ReadAllText(RepoPaths.Of("helm", "segcluster", "values.yaml")));
    }

    [Fact]
    public void Nothing_Orleans_Kubernetes_hosting_would_need_is_left_and_the_pods_get_no_api_access()
    {
        // The node clusters through Redis: Kubernetes-hosting labels, ORLEANS_* variables and a pod Role would do nothing.
        Assert.DoesNotContain(Map(Pod["metadata"]).GetValueOrDefault("labels") as Dictionary<object, object> ?? [], l => ((string)l.Key).StartsWith("orleans/"));
        Assert.DoesNotContain(Env, e => ((string)e["name"]).StartsWith("ORLEANS_") || (string)e["name"] == "POD_NAMESPACE");
        Assert.Equal("false", Map(Pod["spec"])["automountServiceAccountToken"]);
        var serviceAccount = HelmTemplate.Load(Path.Combine(Templates, "serviceaccount.yaml"));
        Assert.Equal("ServiceAccount", serviceAccount["kind"]);
        Assert.Equal("false", serviceAccount["automountServiceAccountToken"]);
        // The bundled Redis runs as the namespace's default account, whose token would be mounted.
        var redis = HelmTemplate.LoadAll(Path.Combine(Templates, "redis.yaml")).Single(o => (string)o["kind"] == "StatefulSet");
        Assert.Equal("false", Map(Map(Map(redis["spec"])["template"])["spec"])["automountServiceAccountToken"]);
        foreach (var template in Directory.GetFiles(Templates, "*.yaml"))
            Assert.DoesNotMatch(@"(?m)^kind: (Cluster)?Role", File.ReadAllText(template));
        Assert.Contains("\"nvidia.com/gpu\"", File.ReadAllText(Path.Combine(Templates, "statefulset.yaml")));
        Assert.True(Map(HelmTemplate.Load(Path.Combine(Templates, "pdb.yaml"))["spec"]).ContainsKey("maxUnavailable"));
    }

    /// <summary>Asserts that <paramref name="text"/> holds <paramref name="parts"/> in this order (an if's branches).</summary>
    internal static void InOrder(string file, string text, params string[] parts)
    {
        var at = 0;
        foreach (var part in parts)
        {
            at = text.IndexOf(part, at, StringComparison.Ordinal);
            Assert.True(at >= 0, $"{file}: no {part} after the parts before it");
        }
    }

    /// <summary>The body of {{ define "name" }} ... {{ end }} in _helpers.tpl (defines hold no nested define).</summary>
    internal static string Define(string name)
    {
        var helpers = File.ReadAllText(Path.Combine(Templates, "_helpers.tpl"));
        var start = System.Text.RegularExpressions.Regex.Match(helpers, @"\{\{-?\s*define """ + System.Text.RegularExpressions.Regex.Escape(name) + @"""\s*-?\}\}");
        Assert.True(start.Success, $"no define {name}");
        var next = System.Text.RegularExpressions.Regex.Match(helpers[(start.Index + start.Length)..], @"\{\{-?\s*define |\{\{/\*");
        var body = next.Success ? helpers.Substring(start.Index + start.Length, next.Index) : helpers[(start.Index + start.Length)..];
        // Drop the define's own closing {{- end -}}.
        return System.Text.RegularExpressions.Regex.Replace(body.Trim(), @"\{\{-?\s*end\s*-?\}\}$", "").Trim();
    }

    internal static Dictionary<object, object> Variable(string name) => Env.Single(e => (string)e["name"] == name);

    internal static Dictionary<object, object> NodeContainer => Container;

    internal static Dictionary<object, object> NodePod => Pod;

    private static object Value(string name) => Variable(name)["value"];

    private static object FieldRef(string name) => Map(Map(Variable(name)["valueFrom"])["fieldRef"])["fieldPath"];

    internal static Dictionary<object, object> Map(object? node) => Assert.IsType<Dictionary<object, object>>(node);

    internal static List<object> List(object? node) => Assert.IsType<List<object>>(node);
}
