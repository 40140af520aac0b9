using System.Diagnostics;
using SegCluster.Cluster.Telemetry;

namespace SegCluster.EndToEnd.Tests;

/// <summary>deploy/prometheus/prometheus.yml, with the files docker compose mounts beside it, passes `promtool check
/// config`; its alert rules (helm/segcluster/files/rules.yml, the chart's PrometheusRule's too) pass `promtool check
/// rules`, fire on the conditions they describe (`promtool test rules`) and name exported metrics.</summary>
public sealed class PromtoolTests : IDisposable
{
    private static readonly string Rules = RepoPaths.Of("helm", "segcluster", "files", "rules.yml");
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("segcluster-promtool-");

    /// <summary>Checked where compose's Prometheus reads it: /etc/prometheus as the service's bind mounts lay it out,
    /// so rule_files (relative to the config) finds the rules file compose mounts there, not one beside it in deploy/.</summary>
    [RequiresPrometheusFact]
    public async Task Shipped_prometheus_config_passes_promtool_with_the_files_compose_mounts()
    {
        var services = (Dictionary<object, object>)DeploymentFilesTests.LoadYaml(RepoPaths.Of("docker-compose.yml"))["services"];
        var prometheus = (Dictionary<object, object>)services["prometheus"];
        var etc = Path.Combine(_dir.FullName, "etc", "prometheus");
        Directory.CreateDirectory(etc);
        var mounted = new Dictionary<string, string>();
        foreach (var volume in ((List<object>)prometheus["volumes"]).Cast<string>())
        {
            var parts = volume.Split(':');
            if (!parts[0].StartsWith("./", StringComparison.Ordinal) || !parts[1].StartsWith("/etc/prometheus/", StringComparison.Ordinal)) continue;
            File.Copy(RepoPaths.Of(parts[0]), Path.Combine(etc, parts[1]["/etc/prometheus/".Length..]));
            mounted[parts[1]] = parts[0];
        }
        var config = ((List<object>)prometheus["command"]).Cast<string>().Single(a => a.StartsWith("--config.file=", StringComparison.Ordinal))["--config.file=".Length..];
        Assert.Equal("./deploy/prometheus/prometheus.yml", mounted[config]);
        Assert.Equal("./helm/segcluster/files/rules.yml", mounted["/etc/prometheus/rules.yml"]);

        var output = await PromtoolAsync("check", "config", Path.Combine(etc, "prometheus.yml"));
        Assert.Contains("SUCCESS", output);
        Assert.Contains("1 rule files found", output);  // rule_files resolves to the rules compose mounts beside it
        Assert.Contains("SUCCESS: 6 rules found", output);
    }

    /// <summary>Ten minutes in, only the alerts without a `for` have fired; at 30 every alert fires for the bad series
    /// (node1 down, worker family near the series limit, a queued experiment, worker a skipping 1 in 60 fp16 steps,
    /// dataset broken with unusable samples, an experiment running while no images are trained after minute 10) and none
    /// for the healthy ones (the sweep family at exactly 0.9 × the limit, worker b's one skip, an empty queue on node2,
    /// dataset clean, another job's node down and its queue).</summary>
    [RequiresPrometheusFact]
    public async Task Shipped_alert_rules_pass_promtool_and_fire_on_their_conditions()
    {
        Assert.Contains("SUCCESS: 6 rules found", await PromtoolAsync("check", "rules", Rules));
        await TestRulesAsync(Rules, _dir, $$"""
              - interval: 1m
                input_series:
                  - { series: 'up{job="segcluster", instance="node1:8080"}', values: '1x4 0x40' }
                  - { series: 'up{job="segcluster", instance="node2:8080"}', values: '1x45' }
                  - { series: 'up{job="other", instance="node9:8080"}', values: '0x45' }
                  - { series: 'segcluster_telemetry_series{job="segcluster", instance="node1:8080", family="worker"}', values: '{{Limit90 + 1}}x45' }
                  - { series: 'segcluster_telemetry_series{job="segcluster", instance="node1:8080", family="sweep"}', values: '{{Limit90}}x45' }
                  - { series: 'segcluster_scheduler_queue{job="segcluster", instance="node1:8080"}', values: '2x45' }
                  - { series: 'segcluster_scheduler_queue{job="segcluster", instance="node2:8080"}', values: '0x45' }
                  - { series: 'segcluster_scheduler_queue{job="other", instance="node9:8080"}', values: '5x45' }
                  - { series: 'segcluster_train_step_duration_seconds_count{job="segcluster", instance="node1:8080", worker="a"}', values: '0+60x45' }
                  - { series: 'segcluster_train_skipped_steps_total{job="segcluster", instance="node1:8080", worker="a"}', values: '0+1x45' }
                  - { series: 'segcluster_train_step_duration_seconds_count{job="segcluster", instance="node1:8080", worker="b"}', values: '0+60x45' }
                  - { series: 'segcluster_train_skipped_steps_total{job="segcluster", instance="node1:8080", worker="b"}', values: '0x20 1x25' }
                  - { series: 'segcluster_data_invalid_samples_total{job="segcluster", instance="node1:8080", dataset="broken"}', values: '0x20 3x25' }
                  - { series: 'segcluster_data_invalid_samples_total{job="segcluster", instance="node1:8080", dataset="clean"}', values: '0x45' }
                  - { series: 'segcluster_experiments{job="segcluster", instance="node1:8080", state="running"}', values: '1x45' }
                  - { series: 'segcluster_train_images_total{job="segcluster", instance="node1:8080", worker="a"}', values: '0+8x10 80x35' }
                promql_expr_test:
                  - expr: &firing sum by (alertname, instance, family, worker, dataset) (ALERTS{alertstate="firing"})
                    eval_time: 10m
                    exp_samples:
                      - { labels: '{alertname="SegClusterNodeDown", instance="node1:8080"}', value: 1 }
                      - { labels: '{alertname="SegClusterTelemetrySeriesNearLimit", instance="node1:8080", family="worker"}', value: 1 }
                  - expr: *firing
                    eval_time: 30m
                    exp_samples:
                      - { labels: '{alertname="SegClusterNodeDown", instance="node1:8080"}', value: 1 }
                      - { labels: '{alertname="SegClusterTelemetrySeriesNearLimit", instance="node1:8080", family="worker"}', value: 1 }
                      - { labels: '{alertname="SegClusterSchedulerQueueStuck"}', value: 1 }
                      - { labels: '{alertname="SegClusterFp16StepsSkipped", instance="node1:8080", worker="a"}', value: 1 }
                      - { labels: '{alertname="SegClusterInvalidSamples", instance="node1:8080", dataset="broken"}', value: 1 }
                      - { labels: '{alertname="SegClusterTrainingStalled"}', value: 1 }
              # Training throughout, or no experiment running: no stall; running with no images series at all: a stall.
              - interval: 1m
                input_series:
                  - { series: 'segcluster_experiments{job="segcluster", instance="node1:8080", state="running"}', values: '1x45' }
                  - { series: 'segcluster_train_images_total{job="segcluster", instance="node1:8080", worker="a"}', values: '0+8x45' }
                  - { series: 'segcluster_experiments{job="segcluster", instance="node2:8080", state="completed"}', values: '3x45' }
                alert_rule_test:
                  - { eval_time: 40m, alertname: SegClusterTrainingStalled }
              - interval: 1m
                input_series:
                  - { series: 'segcluster_experiments{job="segcluster", instance="node1:8080", state="running"}', values: '0x10 1x35' }
                alert_rule_test:
                  - { eval_time: 14m, alertname: SegClusterTrainingStalled }
                  - eval_time: 16m
                    alertname: SegClusterTrainingStalled
                    exp_alerts:
                      - exp_labels: { severity: critical }
                        exp_annotations:
                          summary: "1 experiment(s) running, no images trained for 15 minutes"
                          description: "segcluster_train_images_total has not grown for 15 minutes while experiments are running. `segcluster status` shows each experiment's state and the node logs say what its ranks wait for (ring formation, a peer, data)."
            """);
    }

    [Fact]
    public void Alert_rules_name_exported_metrics_and_the_default_series_limit()
    {
        var rules = File.ReadAllText(Rules);
        var named = ExportedMetrics.AssertExportedAndDocumented("rules.yml", rules);
        Assert.True(named.Count >= 5, string.Join(", ", named));

        // docs/metrics.md: alert on segcluster_telemetry_series > 0.9 × the limit, whose default is the code's.
        Assert.Contains($"segcluster_telemetry_series{{job=\"segcluster\"}} > 0.9 * {TelemetryOptions.DefaultSeriesLimit}", rules);
        Assert.Contains($"(default {TelemetryOptions.DefaultSeriesLimit};", File.ReadAllText(RepoPaths.Of("docs", "metrics.md")));
    }

    private static int Limit90 => (int)(0.9 * TelemetryOptions.DefaultSeriesLimit);

    /// <summary>`promtool test rules` of the rules file <paramref name="rules"/> on <paramref name="tests"/> (the items of
    /// the test file's `tests:` list, indented by two), evaluated every minute; asserts that every test passes.</summary>
    internal static async Task TestRulesAsync(string rules, DirectoryInfo scratch, string tests)
    {
        var file = Path.Combine(scratch.FullName, "rules.test.yml");
        await File.WriteAllTextAsync(file, $"rule_files:\n  - {rules}\nevaluation_interval: 1m\ntests:\n{tests}");
        Assert.Contains("SUCCESS", await PromtoolAsync("test", "rules", file));
    }

    /// <summary>Runs promtool, asserting it succeeds; its stdout and stderr.</summary>
    internal static async Task<string> PromtoolAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo(PrometheusServer.Promtool!, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var promtool = Process.Start(info)!;
        var output = await promtool.StandardOutput.ReadToEndAsync() + await promtool.StandardError.ReadToEndAsync();
        await promtool.WaitForExitAsync();
        Assert.True(promtool.ExitCode == 0, $"promtool {string.Join(' ', arguments)}:\n{output}");
        return output;
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
