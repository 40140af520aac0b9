using System.Text.RegularExpressions;
using YamlDotNet.Serialization;
using static SegCluster.EndToEnd.Tests.HelmRenderer;
using static SegCluster.EndToEnd.Tests.HelmTemplate;
using static SegCluster.EndToEnd.Tests.PromtoolTests;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// templates/prometheusrule.yaml is files/rules.yml, the alert rules docker compose's Prometheus loads, for the Prometheus
/// Operator: the file's groups as spec.groups, with each selector's job="segcluster" (prometheus.yml's job) made the
/// ServiceMonitor's targets' job (the metrics Service's name) and the release's namespace. Asserted on the chart as helm
/// renders it (release "rel", namespace "team-a").
/// </summary>
public sealed partial class HelmPrometheusRuleTests
{
    private static readonly string Template = RepoPaths.Of("helm", "segcluster", "templates", "prometheusrule.yaml");
    private static readonly string RulesFile = RepoPaths.Of("helm", "segcluster", "files", "rules.yml");
    private const string ComposeJob = "job=\"segcluster\"";
    private static readonly Lazy<Rendered> Monitored = new(() => HelmRenderer.Template("serviceMonitor.enabled=true"));

    [RequiresHelmFact]
    public void The_rule_is_the_rules_file_with_the_service_monitors_job_and_the_release_namespace()
    {
        // The job the Operator gives the ServiceMonitor's targets: the name of the Service it selects (no jobLabel set).
        var render = Monitored.Value;
        var monitor = Map(render.Get("ServiceMonitor", FullName)["spec"]);
        Assert.False(monitor.ContainsKey("jobLabel"));
        var selected = render.OfKind("Service").Where(s => Map(Map(monitor["selector"])["matchLabels"]).All(l => Rendered.Labels(s).Contains(l))).ToList();
        var job = (string)Map(Assert.Single(selected)["metadata"])["name"];
        Assert.Equal("rel-segcluster-metrics", job);
        var releaseSelector = $"job=\"{job}\", namespace=\"{Namespace}\"";

        // The file is what a PrometheusRule's spec holds, groups only, and every selector of it names compose's job, so
        // the replacement gives each the release's job and namespace (one without would alert on every release's nodes).
        var rules = File.ReadAllText(RulesFile);
        Assert.Equal(["groups"], DeploymentFilesTests.ParseYaml(rules).Keys.Cast<string>());
        var scrape = (List<object>)DeploymentFilesTests.LoadYaml(RepoPaths.Of("deploy", "prometheus", "prometheus.yml"))["scrape_configs"];
        Assert.Equal(ComposeJob, $"job=\"{Map(Assert.Single(scrape))["job_name"]}\"");  // the job compose's Prometheus gives the nodes
        foreach (var expression in Expressions((List<object>)DeploymentFilesTests.ParseYaml(rules)["groups"]))
            foreach (Match metric in Metric().Matches(expression))
                Assert.True(expression[(metric.Index + metric.Length)..].StartsWith("{" + ComposeJob, StringComparison.Ordinal),
                    $"rules.yml: {metric.Value} in `{expression}` does not select {{{ComposeJob}, ...}}");

        // Rendered: the file's rules, labels and annotations (Prometheus' templates untouched), each expression selecting
        // the release's job and namespace and no longer compose's job.
        var expected = (List<object>)DeploymentFilesTests.ParseYaml(rules.Replace(ComposeJob, releaseSelector))["groups"];
        var groups = RenderedGroups(render);
        var serializer = new SerializerBuilder().Build();
        Assert.Equal(serializer.Serialize(expected), serializer.Serialize(groups));
        var expressions = Expressions(groups).ToList();
        Assert.Equal(6, expressions.Count);
        Assert.All(expressions, e => Assert.DoesNotContain(ComposeJob, e));
        Assert.All(expressions, e => Assert.Equal(Regex.Matches(e, @"\{").Count, Regex.Matches(e, Regex.Escape("{" + releaseSelector)).Count));
        Assert.Contains("{{ $labels.instance }}", serializer.Serialize(groups));

        // One copy of the rules: the template reads the file as it is (tpl would expand Prometheus' {{ $labels }}) and
        // holds none of its own.
        var text = File.ReadAllText(Template);
        Assert.Contains("{{- $rules := .Files.Get \"files/rules.yml\" | required ", text);
        Assert.DoesNotMatch(@"\{\{[^}]*\btpl\b", text);
        Assert.DoesNotMatch(@"(?m)^\s*(- alert|expr|groups):", text);
    }

    /// <summary>The rendered rules pass `promtool check rules`, and fire for the release's nodes only: node down in the
    /// release's namespace fires, the same job in another namespace and compose's job do not.</summary>
    [RequiresHelmAndPrometheusFact]
    public async Task The_rendered_rules_pass_promtool_and_select_the_releases_targets_only()
    {
        var dir = Directory.CreateTempSubdirectory("segcluster-prometheusrule-");
        try
        {
            var file = Path.Combine(dir.FullName, "rules.yml");
            await File.WriteAllTextAsync(file, new SerializerBuilder().Build().Serialize(
                new Dictionary<object, object> { ["groups"] = RenderedGroups(Monitored.Value) }));
            Assert.Contains("SUCCESS: 6 rules found", await PromtoolAsync("check", "rules", file));

            await TestRulesAsync(file, dir, """
                  - interval: 1m
                    input_series:
                      - { series: 'up{job="rel-segcluster-metrics", namespace="team-a", instance="10.0.0.1:8080"}', values: '0x10' }
                      - { series: 'up{job="rel-segcluster-metrics", namespace="team-b", instance="10.0.0.2:8080"}', values: '0x10' }
                      - { series: 'up{job="segcluster", instance="node1:8080"}', values: '0x10' }
                    alert_rule_test:
                      - eval_time: 5m
                        alertname: SegClusterNodeDown
                        exp_alerts:
                          - exp_labels: { severity: critical, job: rel-segcluster-metrics, namespace: team-a, instance: "10.0.0.1:8080" }
                            exp_annotations:
                              summary: "SegCluster node 10.0.0.1:8080 is down"
                              description: "Prometheus has not scraped 10.0.0.1:8080 for a minute. Rings with ranks there re-form on other workers and resume from their last checkpoint."
                """);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [RequiresHelmFact]
    public void The_rule_is_on_by_default_with_the_service_monitor_which_scrapes_every_15_seconds()
    {
        // Both need the Operator's CRDs: none by default; the rule comes with the ServiceMonitor unless turned off.
        Assert.Empty(Defaults.OfKind("ServiceMonitor"));
        Assert.Empty(Defaults.OfKind("PrometheusRule"));
        var render = Monitored.Value;
        Assert.NotNull(render.Find("PrometheusRule", FullName));
        Assert.Equal("15s", Map(Assert.Single(List(Map(render.Get("ServiceMonitor", FullName)["spec"])["endpoints"])))["interval"]);
        Assert.Empty(HelmRenderer.Template("serviceMonitor.enabled=true", "prometheusRule.enabled=false").OfKind("PrometheusRule"));

        // The Prometheus instance selects both by serviceMonitor.labels, or the rule by prometheusRule.labels when set.
        var labelled = HelmRenderer.Template("serviceMonitor.enabled=true", "serviceMonitor.labels.release=prometheus");
        Assert.Equal("prometheus", Rendered.Labels(labelled.Get("ServiceMonitor", FullName))["release"]);
        Assert.Equal("prometheus", Rendered.Labels(labelled.Get("PrometheusRule", FullName))["release"]);
        var own = Rendered.Labels(HelmRenderer.Template("serviceMonitor.enabled=true", "serviceMonitor.labels.release=prometheus",
            "prometheusRule.labels.role=alert-rules").Get("PrometheusRule", FullName));
        Assert.Equal("alert-rules", own["role"]);
        Assert.False(own.ContainsKey("release"));
    }

    private static List<object> RenderedGroups(Rendered render) => List(Map(render.Get("PrometheusRule", FullName)["spec"])["groups"]);

    private static IEnumerable<string> Expressions(List<object> groups) =>
        groups.SelectMany(g => List(Map(g)["rules"])).Select(r => (string)Map(r)["expr"]);

    /// <summary>A metric an expression selects: up or one of SegCluster's (label names and functions are neither).</summary>
    [GeneratedRegex(@"\b(?:up|segcluster_[a-z_]+)\b(?![(_])")]
    private static partial Regex Metric();
}
