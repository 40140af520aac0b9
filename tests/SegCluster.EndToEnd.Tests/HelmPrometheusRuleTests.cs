using System.Diagnostics;
using System.Text.RegularExpressions;
using YamlDotNet.Serialization;
using static SegCluster.EndToEnd.Tests.HelmNodePodTests;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// templates/prometheusrule.yaml holds deploy/prometheus/rules.yml's alerts for the Prometheus Operator, where a target's
/// job is the metrics Service's name (not prometheus.yml's "segcluster", which up{job="segcluster"} never matched there).
/// </summary>
public sealed partial class HelmPrometheusRuleTests
{
    private static readonly string Templates = RepoPaths.Of("helm", "segcluster", "templates");
    private static readonly string Template = Path.Combine(Templates, "prometheusrule.yaml");
    private const string ComposeJob = "job=\"segcluster\"";

    [Fact]
    public void The_template_has_the_rules_of_rules_yml_with_the_service_monitors_job_and_the_release_namespace()
    {
        var text = File.ReadAllText(Template);
        Assert.StartsWith("{{- if and .Values.serviceMonitor.enabled .Values.prometheusRule.enabled }}", text);
        Assert.Contains("{{- $sel := printf \"job=%q, namespace=%q\" (printf \"%s-metrics\" (include \"segcluster.fullname\" .)) .Release.Namespace }}", text);
        // The job the Operator gives the ServiceMonitor's targets: the name of the Service it selects (no jobLabel set).
        var metrics = HelmTemplate.LoadAll(Path.Combine(Templates, "services.yaml"))
            .Single(s => Map(s["metadata"]).GetValueOrDefault("labels") is Dictionary<object, object> l && Equals(l.GetValueOrDefault("app.kubernetes.io/component"), "metrics"));
        Assert.Equal(HelmTemplate.Action("include \"segcluster.fullname\" .") + "-metrics", Map(metrics["metadata"])["name"]);
        var monitor = Map(HelmTemplate.Load(Path.Combine(Templates, "servicemonitor.yaml"))["spec"]);
        Assert.False(monitor.ContainsKey("jobLabel"));
        Assert.Equal("metrics", Map(Map(monitor["selector"])["matchLabels"])["app.kubernetes.io/component"]);

        // Every selector of rules.yml names its job; the template's the same rules with $sel in its place.
        var rules = File.ReadAllText(RepoPaths.Of("deploy", "prometheus", "rules.yml"));
        Assert.Equal(Regex.Matches(rules, @"\bsegcluster_[a-z_]+\{|\bup\{").Count, Regex.Matches(rules, Regex.Escape("{" + ComposeJob)).Count);
        var serializer = new SerializerBuilder().Build();
        Assert.Equal(serializer.Serialize(DeploymentFilesTests.LoadYaml(RepoPaths.Of("deploy", "prometheus", "rules.yml"))["groups"]),
            serializer.Serialize(RenderedGroups(ComposeJob)));
    }

    [RequiresPrometheusFact]
    public async Task The_rendered_rules_pass_promtool()
    {
        var file = Path.Combine(Path.GetTempPath(), $"segcluster-prometheusrule-{Guid.NewGuid():N}.yml");
        try
        {
            await File.WriteAllTextAsync(file, new SerializerBuilder().Build().Serialize(
                new Dictionary<object, object> { ["groups"] = RenderedGroups("job=\"segcluster-metrics\", namespace=\"segcluster\"") }));
            var info = new ProcessStartInfo(PrometheusServer.Promtool!, ["check", "rules", file]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var promtool = Process.Start(info)!;
            var output = await promtool.StandardOutput.ReadToEndAsync() + await promtool.StandardError.ReadToEndAsync();
            await promtool.WaitForExitAsync();
            Assert.True(promtool.ExitCode == 0, output);
            Assert.Contains("SUCCESS: 6 rules found", output);
            Assert.Contains("SegClusterTrainingStalled", File.ReadAllText(file));
        }
        finally
        {
            File.Delete(file);
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

    /// <summary>spec.groups of the template as helm renders it with $sel = <paramref name="selector"/>: Prometheus'
    /// own {{ ... }} unescaped, the other template actions (metadata) opaque.</summary>
    private static object RenderedGroups(string selector)
    {
        var text = File.ReadAllText(Template);
        text = PrometheusTemplate().Replace(text, m => m.Groups[1].Value).Replace("{ {{ $sel }} }", "{" + selector + "}").Replace("{ {{ $sel }},", "{" + selector + ",");
        text = string.Join('\n', text.Split('\n').Where(line => !ActionLine().IsMatch(line)).Select(line => Action().Replace(line, "opaque")));
        return Map(DeploymentFilesTests.ParseYaml(text)["spec"])["groups"];
    }

    [GeneratedRegex(@"\{\{`(.*?)`\}\}")]
    private static partial Regex PrometheusTemplate();

    [GeneratedRegex(@"^\s*\{\{-?[^{}]*\}\}\s*$")]
    private static partial Regex ActionLine();

    [GeneratedRegex(@"\{\{-?\s*include[^}]*\}\}")]
    private static partial Regex Action();
}
