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
        Assert.Equal(HelmTemplate.Action(".Values.orleans.clusterId | quote"), Value("SEGCLUSTER_Node__ClusterId"));
        Assert.Equal("token", Map(Map(Variable("SEGCLUSTER_Node__Token")["valueFrom"])["secretKeyRef"])["key"]);

        // Kubernetes expands $(X) only from variables defined earlier in the list.
        var names = Env.Select(e => (string)e["name"]).ToList();
        foreach (var (variable, i) in Env.Select((e, i) => (e, i)))
            foreach (var reference in System.Text.RegularExpressions.Regex.Matches(variable.GetValueOrDefault("value") as string ?? "", @"\$\((\w+)\)"))
                Assert.True(names.IndexOf(((System.Text.RegularExpressions.Match)reference).Groups[1].Value) is >= 0 and var at && at < i,
                    $"{variable["name"]} uses {reference} before it is defined");
    }

    [Fact]
    public void Dotnet_processors_come_from_the_cpu_request()
    {
        var field = Map(Map(Variable("DOTNET_PROCESSOR_COUNT")["valueFrom"])["resourceFieldRef"]);
        Assert.Equal("requests.cpu", field["resource"]);
        Assert.Equal(Container["name"], field["containerName"]);
        var values = DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"));
        var requests = Map(Map(Map(values["nodes"])["resources"])["requests"]);
        Assert.True(requests.ContainsKey("cpu"), "values.yaml nodes.resources.requests.cpu is what DOTNET_PROCESSOR_COUNT reads");
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
    public void Nothing_Orleans_Kubernetes_hosting_would_need_is_left_and_the_pods_get_no_api_access()
    {
        // The node clusters through Redis: Kubernetes-hosting labels, ORLEANS_* variables and a pod Role would do nothing.
        Assert.DoesNotContain(Map(Pod["metadata"]).GetValueOrDefault("labels") as Dictionary<object, object> ?? [], l => ((string)l.Key).StartsWith("orleans/"));
        Assert.DoesNotContain(Env, e => ((string)e["name"]).StartsWith("ORLEANS_") || (string)e["name"] == "POD_NAMESPACE");
        Assert.Equal("false", Map(Pod["spec"])["automountServiceAccountToken"]);
        var serviceAccount = HelmTemplate.Load(Path.Combine(Templates, "serviceaccount.yaml"));
        Assert.Equal("ServiceAccount", serviceAccount["kind"]);
        Assert.Equal("false", serviceAccount["automountServiceAccountToken"]);
        foreach (var template in Directory.GetFiles(Templates, "*.yaml"))
            Assert.DoesNotMatch(@"(?m)^kind: (Cluster)?Role", File.ReadAllText(template));
        Assert.Contains("\"nvidia.com/gpu\"", File.ReadAllText(Path.Combine(Templates, "statefulset.yaml")));
        Assert.True(Map(HelmTemplate.Load(Path.Combine(Templates, "pdb.yaml"))["spec"]).ContainsKey("maxUnavailable"));
    }

    internal static Dictionary<object, object> Variable(string name) => Env.Single(e => (string)e["name"] == name);

    internal static Dictionary<object, object> NodeContainer => Container;

    internal static Dictionary<object, object> NodePod => Pod;

    private static object Value(string name) => Variable(name)["value"];

    private static object FieldRef(string name) => Map(Map(Variable(name)["valueFrom"])["fieldRef"])["fieldPath"];

    internal static Dictionary<object, object> Map(object? node) => Assert.IsType<Dictionary<object, object>>(node);

    internal static List<object> List(object? node) => Assert.IsType<List<object>>(node);
}
