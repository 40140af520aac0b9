using System.Text.Json;
using SegCluster.Cli.Spectral;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// `segcluster spectral-sweep SPEC --cluster`: the label analysis and the trials run on two `segcluster node` processes
/// joined through Redis (one shard and one trial per node), the report is written by the CLI.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class SpectralSweepClusterTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(6);

    private const string Spec = """
        name: cluster-spectral
        base:
          dataset: { height: 32, width: 32, train_count: 16, validation_count: 8 }
          model: { name: spgnet, width: 4 }
          labels: { mode: nearest }
          training: { batch_per_worker: 2, evaluation_batch: 4 }
        axes:
          - { path: labels.factor, kind: grid, values: [1, 4] }
        max_concurrent_trials: 2
        trial_steps: 3
        """;

    [RequiresRedisFact]
    public async Task A_spectral_sweep_runs_its_analysis_and_trials_on_the_nodes_of_a_running_cluster()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 2);
        using var root = new TempDirectory("segcluster-spectral-sweep-cluster-");
        var spec = Path.Combine(root.FullName, "sweep.yaml");
        File.WriteAllText(spec, Spec);
        var output = Path.Combine(root.FullName, "out");
        var (exit, stdout, stderr) = await cluster.CliAsync(Limit, "spectral-sweep", spec, "--out", output, "--images", "8", "--shards", "2");
        Assert.True(exit == 0, stdout + stderr + cluster.NodeLogs());
        Assert.Contains("on the cluster at", stdout);

        using var analysis = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "analysis", SpectralRunner.ReportFile)));
        var computedBy = analysis.RootElement.GetProperty("Shards").EnumerateArray().Select(s => s.GetProperty("ComputedBy").GetString()).Order();
        Assert.Equal(["n1", "n2"], computedBy);  // shard s on node s mod 2: both nodes analysed

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, SpectralSweepRunner.JsonFile)));
        var rows = report.RootElement.GetProperty("Rows").EnumerateArray().ToList();
        Assert.Equal([1, 4], rows.Select(r => r.GetProperty("Factor").GetInt32()).Order());
        Assert.All(rows, r => Assert.True(r.GetProperty("State").GetString() == "Completed", r.ToString()));
        Assert.All(rows, r => Assert.InRange(r.GetProperty("TrainedMIoU").GetDouble(), 0.0, 1.0));
    }
}
