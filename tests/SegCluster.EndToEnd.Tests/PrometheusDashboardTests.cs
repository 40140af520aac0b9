namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// The dashboard against a live Prometheus: the real server scrapes a training `quickstart` node and a node
/// running a two-trial sweep (long enough to be scraped a few times under CI load) every 2 s, and every panel query of deploy/grafana/dashboards/segcluster.json
/// must return data, except the panels marked "CUDA nodes only" or "Empty until the first" (a counter that appears with
/// its first event: an fp16 skipped step, an unusable sample), whose queries must still be valid PromQL.
/// </summary>
public sealed class PrometheusDashboardTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);
    private static readonly string[] NoDataMarkers = ["CUDA nodes only", "Empty until the first"];

    private const string TwoTrialSweep = """
        name: dashboard-sweep
        base:
          dataset: { height: 32, width: 32, train_count: 16, validation_count: 8 }
          model: { name: encoder-decoder, width: 4 }
          training: { batch_per_worker: 4, evaluation_batch: 8 }
        axes:
          - { path: training.learning_rate, kind: grid, values: [0.02, 0.05] }
        search: { kind: grid }
        metric: miou
        mode: max
        max_concurrent_trials: 1
        workers_per_trial: 1
        trial_steps: 200
        """;
    private readonly DirectoryInfo _out = Directory.CreateTempSubdirectory("segcluster-e2e-prom-");

    [RequiresPrometheusFact]
    public async Task Every_dashboard_query_returns_data_while_a_node_trains()
    {
        var dashboard = GrafanaDashboard.Load();
        var validOnly = GrafanaDashboard.Panels(dashboard)
            .Where(p => p.TryGetProperty("description", out var d) && NoDataMarkers.Any(d.GetString()!.Contains))
            .Select(p => p.GetProperty("title").GetString()!).ToHashSet();
        var queries = GrafanaDashboard.Queries(dashboard)
            .Select(q => (q.Panel, Expr: GrafanaDashboard.WithAllSelected(q.Expr, dashboard))).ToList();
        var pending = queries.Where(q => !validOnly.Contains(q.Panel)).ToDictionary(q => q.Expr, q => q.Panel);
        Assert.NotEmpty(pending);

        var metricsPort = LoopbackPorts.Next();
        var sweepPort = LoopbackPorts.Next();
        await using var prometheus = await PrometheusServer.StartAsync([$"127.0.0.1:{metricsPort}", $"127.0.0.1:{sweepPort}"], TimeSpan.FromSeconds(60));
        foreach (var (panel, expr) in queries.Where(q => validOnly.Contains(q.Panel)))
            await prometheus.QueryAsync(expr);  // throws, naming the query, when Prometheus rejects it

        var sweepFile = Path.Combine(_out.FullName, "sweep.yaml");
        await File.WriteAllTextAsync(sweepFile, TwoTrialSweep);
        using var sweep = CliProcess.Start("sweep", sweepFile, "--metrics-port", sweepPort.ToString(), "--out", _out.FullName);
        // --linger keeps /metrics up after training so the final mIoU and experiment state are scraped: 12 s is 6 scrapes,
        // so one that times out on a busy node (the sweep trains on) leaves others, and the queries below see them
        // before the node's exit makes its series stale.
        using var cli = CliProcess.Start("quickstart", "--workers", "2", "--steps", "40", "--image-size", "32", "--batch-size", "2",
            "--metrics-port", metricsPort.ToString(), "--linger", "12", "--out", _out.FullName);

        // Poll the query API (bounded by the processes' lifetimes and Limit) until every query has returned data once.
        var deadline = DateTime.UtcNow + Limit;
        while (pending.Count > 0 && DateTime.UtcNow < deadline)
        {
            var exited = cli.HasExited && sweep.HasExited;
            foreach (var expr in pending.Keys.ToList())
                if (await prometheus.QueryAsync(expr) > 0) pending.Remove(expr);
            if (exited) break;
            await Task.Delay(500);
        }
        var (exit, stdout, stderr) = await cli.WaitAsync(Limit);
        var (sweepExit, sweepOut, sweepErr) = await sweep.WaitAsync(Limit);

        Assert.True(exit == 0, $"quickstart exit {exit}\n{stdout}\n{stderr}");
        Assert.True(sweepExit == 0, $"sweep exit {sweepExit}\n{sweepOut}\n{sweepErr}");
        Assert.True(pending.Count == 0,
            "panel queries that never returned data:\n" + string.Join("\n", pending.Select(kv => $"  {kv.Value}: {kv.Key}")));
    }

    public void Dispose() => _out.Delete(recursive: true);
}
