using System.Diagnostics;

namespace SegCluster.EndToEnd.Tests;

/// <summary>deploy/prometheus/prometheus.yml passes `promtool check config`.</summary>
public sealed class PromtoolTests
{
    [RequiresPrometheusFact]
    public async Task Shipped_prometheus_config_passes_promtool()
    {
        var info = new ProcessStartInfo(PrometheusServer.Promtool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("check");
        info.ArgumentList.Add("config");
        info.ArgumentList.Add(RepoPaths.Of("deploy", "prometheus", "prometheus.yml"));
        using var promtool = Process.Start(info)!;
        var output = await promtool.StandardOutput.ReadToEndAsync() + await promtool.StandardError.ReadToEndAsync();
        await promtool.WaitForExitAsync();
        Assert.True(promtool.ExitCode == 0, output);
        Assert.Contains("SUCCESS", output);
    }
}
