using System.Text.RegularExpressions;
using YamlDotNet.Serialization;
using static SegCluster.EndToEnd.Tests.HelmNodePodTests;
using static SegCluster.EndToEnd.Tests.PromtoolTests;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// templates/prometheusrule.yaml is files/rules.yml, the alert rules docker compose's Prometheus loads, for the Prometheus
/// Operator: the file's groups as spec.groups, with each selector's job="segcluster" (prometheus.yml's job) made the
/// ServiceMonitor's targets' job (the metrics Service's name) and the release's namespace. No helm here: the spec line's
/// pipeline (trim | replace | nindent) is applied to the file as helm would (<see cref="Rendered"/>).
/// </summary>
public sealed partial class HelmPrometheusRuleTests
{
    private static readonly string Templates = RepoPaths.Of("helm", "segcluster", "templates");
    private static readonly string Template = Path.Combine(Templates, "prometheusrule.yaml");
    private static readonly string RulesFile = RepoPaths.Of("helm", "segcluster", "files", "rules.yml");
    private const string ComposeJob = "job=\"segcluster\"";
    /// <summary>$selector of release "rel" (fullname rel-segcluster) in namespace "team-a".</summary>
    private const string ReleaseSelector = "job=\"rel-segcluster-metrics\", namespace=\"team-a\"";

    [Fact]
    public void The_rule_is_the_rules_file_with_the_service_monitors_job_and_the_release_namespace()
    {
        var text = File.ReadAllText(Template);
        Assert.StartsWith("{{- if and .Values.serviceMonitor.enabled .Values.prometheusRule.enabled }}", text);
        // One copy of the rules: the template reads the file (as it is: tpl would expand Prometheus' {{ $labels }} and
        // fail) and holds none of its own.
        Assert.Contains("{{- $rules := .Files.Get \"files/rules.yml\" | required ", text);
        Assert.DoesNotMatch(@"\{\{[^}]*\btpl\b", text);
        Assert.DoesNotMatch(@"(?m)^\s*(- alert|expr|groups):", text);
        Assert.Contains("{{- $selector := printf \"job=%q, namespace=%q\" (printf \"%s-metrics\" (include \"segcluster.fullname\" .)) .Release.Namespace }}", text);

        // The job the Operator gives the ServiceMonitor's targets: the name of the Service it selects (no jobLabel set).
        var metrics = HelmTemplate.LoadAll(Path.Combine(Templates, "services.yaml"))
            .Single(s => Map(s["metadata"]).GetValueOrDefault("labels") is Dictionary<object, object> l && Equals(l.GetValueOrDefault("app.kubernetes.io/component"), "metrics"));
        Assert.Equal(HelmTemplate.Action("include \"segcluster.fullname\" .") + "-metrics", Map(metrics["metadata"])["name"]);
        var monitor = Map(HelmTemplate.Load(Path.Combine(Templates, "servicemonitor.yaml"))["spec"]);
        Assert.False(monitor.ContainsKey("jobLabel"));
        Assert.Equal("metrics", Map(Map(monitor["selector"])["matchLabels"])["app.kubernetes.io/component"]);

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
        var expected = (List<object>)DeploymentFilesTests.ParseYaml(rules.Replace(ComposeJob, ReleaseSelector))["groups"];
        var groups = Rendered(ReleaseSelector);
        var serializer = new SerializerBuilder().Build();
        Assert.Equal(serializer.Serialize(expected), serializer.Serialize(groups));
        var expressions = Expressions(groups).ToList();
        Assert.Equal(6, expressions.Count);
        Assert.All(expressions, e => Assert.DoesNotContain(ComposeJob, e));
        Assert.All(expressions, e => Assert.Equal(Regex.Matches(e, @"\{").Count, Regex.Matches(e, Regex.Escape("{" + ReleaseSelector)).Count));
        Assert.Contains("{{ $labels.instance }}", serializer.Serialize(groups));
    }

    /// <summary>The rendered rules pass `promtool check rules`, and fire for the release's nodes only: node down in the
    /// release's namespace fires, the same job in another namespace and compose's job do not.</summary>
    [RequiresPrometheusFact]
    public async Task The_rendered_rules_pass_promtool_and_select_the_releases_targets_only()
    {
        var dir = Directory.CreateTempSubdirectory("segcluster-prometheusrule-");
        try
        {
            var file = Path.Combine(dir.FullName, "rules.yml");
            await File.WriteAllTextAsync(file, new SerializerBuilder().Build().Serialize(
                new Dictionary<object, object> { ["groups"] = Rendered(ReleaseSelector) }));
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

    [Fact]
    public void The_rule_is_on_by_default_with_the_service_monitor_which_scrapes_every_15_seconds()
    {
        var values = DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"));
        Assert.Equal("true", Map(values["prometheusRule"])["enabled"]);
        Assert.Equal("15s", Map(values["serviceMonitor"])["interval"]);
        Assert.Contains("{{- with default .Values.serviceMonitor.labels .Values.prometheusRule.labels }}", File.ReadAllText(Template));
    }

    /// <summary>spec.groups of the template as helm renders it with $selector = <paramref name="selector"/>: the spec line's
    /// `$rules | trim | replace OLD $selector | nindent N` applied to files/rules.yml with the template's own OLD and N,
    /// the other template actions (metadata) opaque.</summary>
    private static List<object> Rendered(string selector)
    {
        var text = File.ReadAllText(Template);
        var spec = SpecLine().Match(text);
        Assert.True(spec.Success, "prometheusrule.yaml: no `{{- $rules | trim | replace `...` $selector | nindent N }}` line");
        var indent = new string(' ', int.Parse(spec.Groups["indent"].Value));
        var rules = File.ReadAllText(RulesFile).Trim().Replace(spec.Groups["old"].Value, selector);
        // nindent: a newline, then every line indented; the action's {{- trims the line's own indentation before it.
        text = text[..spec.Index].TrimEnd(' ') + "\n" + indent + rules.Replace("\n", "\n" + indent) + text[(spec.Index + spec.Length)..];
        text = string.Join('\n', text.Split('\n').Where(line => !ActionLine().IsMatch(line)).Select(line => Action().Replace(line, "opaque")));
        return (List<object>)Map(DeploymentFilesTests.ParseYaml(text)["spec"])["groups"];
    }

    private static IEnumerable<string> Expressions(List<object> groups) =>
        groups.SelectMany(g => List(Map(g)["rules"])).Select(r => (string)Map(r)["expr"]);

    [GeneratedRegex(@"\{\{-\s*\$rules \| trim \| replace `(?<old>[^`]+)` \$selector \| nindent (?<indent>\d+)\s*\}\}")]
    private static partial Regex SpecLine();

    /// <summary>A metric an expression selects: up or one of SegCluster's (label names and functions are neither).</summary>
    [GeneratedRegex(@"\b(?:up|segcluster_[a-z_]+)\b(?![(_])")]
    private static partial Regex Metric();

    [GeneratedRegex(@"^\s*\{\{-?[^{}]*\}\}\s*$")]
    private static partial Regex ActionLine();

    [GeneratedRegex(@"\{\{-?\s*include[^}]*\}\}")]
    private static partial Regex Action();
}
