using System.Diagnostics;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The standalone node process (SegCluster.Node) starts its silo and answers /health and /metrics.</summary>
public sealed class NodeHostTests
{
    [Fact]
    public async Task Node_serves_health_and_metrics_and_stops_cleanly()
    {
        int http = CliProcess.FreePort(), collective = CliProcess.FreePort(), silo = CliProcess.FreePort(), gateway = CliProcess.FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SegCluster.Node.dll"));
        info.Environment["SEGCLUSTER_Node__HttpPort"] = http.ToString();
        info.Environment["SEGCLUSTER_Node__CollectivePort"] = collective.ToString();
        info.Environment["SEGCLUSTER_Node__SiloPort"] = silo.ToString();
        info.Environment["SEGCLUSTER_Node__GatewayPort"] = gateway.ToString();
        info.Environment["SEGCLUSTER_Node__NodeId"] = "e2e-node";
        using var node = Process.Start(info)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            string? health = null;
            for (var attempt = 0; attempt < 150 && health is null && !node.HasExited; attempt++)
            {
                try { health = await client.GetStringAsync($"http://127.0.0.1:{http}/health"); }
                catch (HttpRequestException) { await Task.Delay(200); }
            }
            Assert.True(health == "Healthy", $"health: {health}; exited: {node.HasExited}");
            var metrics = await client.GetStringAsync($"http://127.0.0.1:{http}/metrics");
            Assert.Contains("segcluster_process_memory_bytes", metrics);
        }
        finally
        {
            if (!node.HasExited) node.Kill(entireProcessTree: true);
            await node.WaitForExitAsync();
        }
        _ = await stdout + await stderr;
    }
}
