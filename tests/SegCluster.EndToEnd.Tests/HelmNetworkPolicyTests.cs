using static SegCluster.EndToEnd.Tests.HelmRenderer;
using static SegCluster.EndToEnd.Tests.HelmTemplate;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// templates/networkpolicy.yaml as helm renders it: node pods admit each other on every port the node listens on (the
/// ports the StatefulSet declares plus the data-plane range), Prometheus on the HTTP port, clients on HTTP and the
/// gateway; the bundled Redis admits node pods and clients on the port its container listens on. Each policy selects
/// the pods by the labels the pods have.
/// </summary>
public sealed class HelmNetworkPolicyTests
{
    private static readonly Dictionary<object, object> Values = DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"));

    private static Dictionary<object, object> Spec(Rendered render, string name) => Map(render.Get("NetworkPolicy", name)["spec"]);

    private static List<Dictionary<object, object>> Ingress(Dictionary<object, object> spec) => [.. List(spec["ingress"]).Select(Map)];

    private static Dictionary<object, object> MatchLabels(Dictionary<object, object> selector) => Map(selector["matchLabels"]);

    private static List<string> Ports(Dictionary<object, object> rule) =>
        [.. List(rule["ports"]).Select(Map).Select(p => p.TryGetValue("endPort", out var end) ? $"{p["port"]}-{end}" : (string)p["port"])];

    [RequiresHelmFact]
    public void Node_pods_reach_each_other_on_every_port_the_node_listens_on()
    {
        var render = Defaults;
        var nodes = Spec(render, $"{FullName}-nodes");
        var podLabels = Rendered.Labels(render.NodePod);
        Assert.Equal(podLabels, MatchLabels(Map(nodes["podSelector"])));
        Assert.Equal(["Ingress"], List(nodes["policyTypes"]).Cast<string>());

        var peers = Ingress(nodes)[0];
        Assert.Equal(podLabels, MatchLabels(Map(Map(Assert.Single(List(peers["from"])))["podSelector"])));
        // Every containerPort of the node and the data plane's FIRST-LAST range.
        var declared = List(render.NodeContainer["ports"]).Select(Map).Select(p => (string)p["containerPort"]).ToList();
        Assert.Equal(4, declared.Count);
        Assert.Equal([.. declared, render.Value("SEGCLUSTER_Collectives__DataPlanePorts")!], Ports(peers));
        Assert.All(List(peers["ports"]).Select(Map), p => Assert.Equal("TCP", p["protocol"]));

        // Without a data-plane range the ranks listen on random ports: node pods then reach each other on any port.
        Assert.False(Ingress(Spec(Template("ports.dataPlane="), $"{FullName}-nodes"))[0].ContainsKey("ports"));
        Assert.Empty(Template("networkPolicy.enabled=false").OfKind("NetworkPolicy"));
    }

    [RequiresHelmFact]
    public void Prometheus_reaches_the_metrics_port_and_clients_the_api_and_gateway()
    {
        var render = Defaults;
        var rules = Ingress(Spec(render, $"{FullName}-nodes"));
        Assert.Equal(3, rules.Count);
        var policy = Map(Values["networkPolicy"]);
        var prometheus = Map(Assert.Single(List(rules[1]["from"])));
        // Both selectors in one peer: the Prometheus pods of those namespaces, not every pod there nor Prometheus anywhere.
        Assert.Equal(Map(policy["prometheus"]), prometheus);
        Assert.Equal("monitoring", MatchLabels(Map(prometheus["namespaceSelector"]))["kubernetes.io/metadata.name"]);
        var http = render.Value("SEGCLUSTER_Node__HttpPort")!;
        Assert.Equal([http], Ports(rules[1]));
        Assert.Equal(List(policy["clients"]), List(rules[2]["from"]));
        Assert.Equal([http, render.Value("SEGCLUSTER_Node__GatewayPort")!], Ports(rules[2]));
        Assert.Equal(2, Ingress(Spec(Template("networkPolicy.clients=null"), $"{FullName}-nodes")).Count);

        // The ServiceMonitor scrapes the metrics Service's "http" port, which targets the node's http containerPort.
        var endpoint = Map(Assert.Single(List(Map(Template("serviceMonitor.enabled=true").Get("ServiceMonitor", FullName)["spec"])["endpoints"])));
        var port = Map(Assert.Single(List(Map(render.Get("Service", $"{FullName}-metrics")["spec"])["ports"])));
        Assert.Equal(endpoint["port"], port["name"]);
        Assert.Equal(http, port["port"]);
        Assert.Equal(http, List(render.NodeContainer["ports"]).Select(Map).Single(p => Equals(p["name"], port["targetPort"]))["containerPort"]);
    }

    [RequiresHelmFact]
    public void The_bundled_redis_admits_node_pods_and_clients_on_its_port()
    {
        var render = Defaults;
        var redis = Spec(render, $"{FullName}-redis");
        // The policy selects the pod by the labels the pod has, as do its StatefulSet and both Services; they are the
        // release's instance and component only (a StatefulSet's selector is immutable: they stay what they were).
        var podLabels = Rendered.Labels(render.RedisPod);
        Assert.Equal(new Dictionary<object, object> { ["app.kubernetes.io/instance"] = Release, ["app.kubernetes.io/component"] = "redis" }, podLabels);
        Assert.Equal(podLabels, MatchLabels(Map(redis["podSelector"])));
        Assert.Equal(podLabels, MatchLabels(Map(Map(render.Redis["spec"])["selector"])));
        foreach (var service in new[] { $"{FullName}-redis", $"{FullName}-redis-headless" })
            Assert.Equal(podLabels, Map(Map(render.Get("Service", service)["spec"])["selector"]));

        var rule = Assert.Single(Ingress(redis));
        var from = List(rule["from"]).Select(Map).ToList();
        Assert.Equal(Rendered.Labels(render.NodePod), MatchLabels(Map(from[0]["podSelector"])));
        Assert.Equal(List(Map(Values["networkPolicy"])["clients"]), from.Skip(1).Cast<object>().ToList());
        var port = (string)Map(Assert.Single(List(render.RedisContainer["ports"])))["containerPort"];
        Assert.Equal([port], Ports(rule));

        Assert.Null(Template("redis.bundled=false", "redis.external=redis.example:6379").Find("NetworkPolicy", $"{FullName}-redis"));
    }
}
