namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// The dashboard against a live Prometheus: the real server scrapes a training `quickstart` node every
/// second, and every panel query of deploy/grafana/dashboards/segcluster.json must return data.
/// </summary>
public sealed class PrometheusDashboardTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);
    private readonly DirectoryInfo _out = Directory.CreateTempSubdirectory("segcluster-e2e-prom-");

    [RequiresPrometheusFact]
    public async Task Every_dashboard_query_returns_data_while_a_node_trains()
    {
        var dashboard = GrafanaDashboard.Load();
        var pending = GrafanaDashboard.Queries(dashboard)
            .ToDictionary(q => GrafanaDashboard.WithAllSelected(q.Expr, dashboard), q => q.Panel);
        Assert.NotEmpty(pending);

        var metricsPort = CliProcess.FreePort();
        await using var prometheus = await PrometheusServer.StartAsync([$"127.0.0.1:{metricsPort}"], TimeSpan.FromSeconds(60));
        // --linger keeps /metrics up after training so the final mIoU and experiment state are scraped.
        using var cli = CliProcess.Start("quickstart", "--workers", "2", "--steps", "40", "--image-size", "32", "--batch-size", "2",
            "--metrics-port", metricsPort.ToString(), "--linger", "4", "--out", _out.FullName);

        // Poll the query API (bounded by the CLI's lifetime and Limit) until every query has returned data once.
        var deadline = DateTime.UtcNow + Limit;
        while (pending.Count > 0 && DateTime.UtcNow < deadline)
        {
            var exited = cli.HasExited;
            foreach (var expr in pending.Keys.ToList())
                if (await prometheus.QueryAsync(expr) > 0) pending.Remove(expr);
            if (exited) break;
            await Task.Delay(500);
        }
        var (exit, stdout, stderr) = await cli.WaitAsync(Limit);

        Assert.True(exit == 0, $"quickstart exit {exit}\n{stdout}\n{stderr}");
        Assert.True(pending.Count == 0,
            "panel queries that never returned data:\n" + string.Join("\n", pending.Select(kv => $"  {kv.Value}: {kv.Key}")));
    }

    public void Dispose() => _out.Delete(recursive: true);
}
