using System.Text.RegularExpressions;
using static SegCluster.EndToEnd.Tests.HelmNodePodTests;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// templates/networkpolicy.yaml: node pods admit each other on every port the node listens on (the ports the
/// StatefulSet declares plus the data-plane range), Prometheus on the HTTP port, clients on HTTP and the gateway;
/// the bundled Redis admits node pods and clients on the port its container listens on.
/// </summary>
public sealed class HelmNetworkPolicyTests
{
    private static readonly string Templates = RepoPaths.Of("helm", "segcluster", "templates");
    private static readonly List<Dictionary<object, object>> Policies = HelmTemplate.LoadAll(Path.Combine(Templates, "networkpolicy.yaml"));
    private static readonly Dictionary<object, object> Values = DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"));

    private static Dictionary<object, object> Policy(string suffix) =>
        Policies.Single(p => (string)Map(p["metadata"])["name"] == HelmTemplate.Action("include \"segcluster.fullname\" .") + suffix);

    private static List<Dictionary<object, object>> Ingress(Dictionary<object, object> policy) => [.. List(Map(policy["spec"])["ingress"]).Select(Map)];

    private static List<object> Ports(Dictionary<object, object> rule) =>
        [.. List(rule["ports"]).Select(Map).Select(p => p.TryGetValue("endPort", out var end) ? $"{p["port"]}-{end}" : p["port"])];

    [Fact]
    public void Node_pods_reach_each_other_on_every_port_the_node_listens_on()
    {
        Assert.All(Policies, p => Assert.Equal("NetworkPolicy", p["kind"]));
        var nodes = Policy("-nodes");
        Assert.Equal(["Ingress"], List(Map(nodes["spec"])["policyTypes"]).Cast<string>());
        var text = File.ReadAllText(Path.Combine(Templates, "networkpolicy.yaml"));
        Assert.Contains("{{- $nodes := include \"segcluster.selectorLabels\" . }}", text);

        var peers = Ingress(nodes)[0];
        Assert.True(Map(Assert.Single(List(peers["from"]).Select(Map))).ContainsKey("podSelector"));
        // Every containerPort of the node (their values) and the data plane's FIRST-LAST range.
        var declared = List(NodeContainer["ports"]).Select(Map).Select(p => ((string)p["containerPort"]).Replace(".Values.", "$.Values.")).ToList();
        Assert.Equal(4, declared.Count);
        Assert.Equal([.. declared, $"{HelmTemplate.Action("$range._0")}-{HelmTemplate.Action("$range._1")}"], Ports(peers));
        Assert.Matches(@"\{\{-\s*with \.Values\.ports\.dataPlane\s*\}\}\n\s*\{\{-\s*\$range := split ""-"" \.\s*\}\}\n\s*ports:", text);
        Assert.True(SegCluster.Collectives.Tcp.DataPlanePortRange.TryParse((string)Map(Values["ports"])["dataPlane"], out _));
    }

    [Fact]
    public void Prometheus_reaches_the_metrics_port_and_clients_the_api_and_gateway()
    {
        var rules = Ingress(Policy("-nodes"));
        var prometheus = Map(Assert.Single(List(rules[1]["from"])));
        Assert.Equal(["namespaceSelector", "podSelector"], prometheus.Keys.Cast<string>().Order());
        Assert.Equal([HelmTemplate.Action(".Values.ports.http")], Ports(rules[1]));
        Assert.Equal([HelmTemplate.Action("$.Values.ports.http"), HelmTemplate.Action("$.Values.ports.gateway")], Ports(rules[2]));
        // The ServiceMonitor scrapes the metrics Service's "http" port, which targets the node's http containerPort.
        Assert.Equal("http", Map(Assert.Single(List(Map(HelmTemplate.Load(Path.Combine(Templates, "servicemonitor.yaml"))["spec"])["endpoints"])))["port"]);

        var policy = Map(Values["networkPolicy"]);
        Assert.Equal("true", policy["enabled"]);
        var selectors = Map(policy["prometheus"]);
        Assert.Equal("monitoring", Map(Map(selectors["namespaceSelector"])["matchLabels"])["kubernetes.io/metadata.name"]);
        Assert.Equal("prometheus", Map(Map(selectors["podSelector"])["matchLabels"])["app.kubernetes.io/name"]);
        Assert.NotEmpty(List(policy["clients"]));
    }

    [Fact]
    public void The_bundled_redis_admits_node_pods_and_clients_on_its_port()
    {
        var redis = Policy("-redis");
        var statefulset = HelmTemplate.LoadAll(Path.Combine(Templates, "redis.yaml")).Single(o => (string)o["kind"] == "StatefulSet");
        var pod = Map(Map(statefulset["spec"])["template"]);
        // The policy selects the pod by the labels the pod has: both are segcluster.redisSelectorLabels, as are the
        // StatefulSet's selector and both Services' (no copy of the labels that could drift from the pod's).
        const string Labels = "{{- include \"segcluster.redisSelectorLabels\" . | nindent ";
        Assert.Matches(@"\n  podSelector:\n    matchLabels:\n      " + Regex.Escape(Labels) + @"6 \}\}\n", File.ReadAllText(Path.Combine(Templates, "networkpolicy.yaml")));
        var text = File.ReadAllText(Path.Combine(Templates, "redis.yaml"));
        Assert.Matches(@"\n  template:\n    metadata:\n      labels:\n        " + Regex.Escape(Labels) + @"8 \}\}\n", text);
        Assert.Matches(@"\n  selector:\n    matchLabels:\n      " + Regex.Escape(Labels) + @"6 \}\}\n", text);
        Assert.Equal(2, Regex.Matches(text, @"\n  selector:\n    " + Regex.Escape(Labels) + @"4 \}\}\n").Count);
        Assert.Equal("app.kubernetes.io/instance: {{ .Release.Name }}\napp.kubernetes.io/component: redis", Define("segcluster.redisSelectorLabels"));
        foreach (var template in new[] { "redis.yaml", "networkpolicy.yaml" })
            Assert.DoesNotContain("app.kubernetes.io/instance: {{ .Release.Name }}", File.ReadAllText(Path.Combine(Templates, template)));
        var port = List(Map(Assert.Single(List(Map(pod["spec"])["containers"])))["ports"]).Select(Map).Single()["containerPort"];
        var rule = Assert.Single(Ingress(redis));
        Assert.Equal([port], Ports(rule));
        Assert.Matches(@"\{\{-\s*if \.Values\.redis\.bundled\s*\}\}\n---", File.ReadAllText(Path.Combine(Templates, "networkpolicy.yaml")));
    }
}
