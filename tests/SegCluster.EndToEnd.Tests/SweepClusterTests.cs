using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// `segcluster sweep SPEC --cluster`: the trials run on the free workers of two `segcluster node` processes joined
/// through Redis, the report is written by the CLI, and `sweep --resume ID --cluster` finds the sweep the cluster keeps.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class SweepClusterTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(6);

    private const string Spec = """
        name: cluster-sweep
        base:
          dataset: { height: 32, width: 32, train_count: 16, validation_count: 8 }
          model: { name: spgnet, width: 4 }
          training: { batch_per_worker: 2, evaluation_batch: 4 }
        axes:
          - { path: training.learning_rate, kind: grid, values: [0.01, 0.02, 0.05, 0.1] }
        max_concurrent_trials: 2
        trial_steps: 3
        """;

    [RequiresRedisFact]
    public async Task A_sweep_runs_its_trials_on_the_nodes_of_a_running_cluster_and_resumes_by_id_there()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 2);
        using var root = new TempDirectory("segcluster-sweep-cluster-");
        var spec = Path.Combine(root.FullName, "sweep.yaml");
        File.WriteAllText(spec, Spec);
        var output = Path.Combine(root.FullName, "out");

        var (exit, stdout, stderr) = await cluster.CliAsync(Limit, "sweep", spec, "--out", output);
        Assert.True(exit == 0, stdout + stderr + cluster.NodeLogs());
        Assert.Contains("on the cluster at", System.Text.RegularExpressions.Regex.Replace(stdout, @"\s+", " "));  // wrapped at the console's width
        var folder = Assert.Single(new DirectoryInfo(output).GetDirectories("cluster-sweep-*"));
        Assert.False(Directory.Exists(Path.Combine(folder.FullName, "state")));  // the cluster keeps the state, not this machine
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.FullName, "results.json")));
        var trials = report.RootElement.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(4, trials.Count);
        Assert.All(trials, t => Assert.True(t.GetProperty("state").GetString() == "completed", t.ToString()));
        var nodes = trials.SelectMany(t => t.GetProperty("workers").EnumerateArray().Select(w => w.GetString()!.Split('/')[0])).Distinct().Order();
        Assert.Equal(["n1", "n2"], nodes);  // two trials at a time, one worker each: both nodes trained

        var resumed = await cluster.CliAsync(Limit, "sweep", "--resume", folder.Name, "--out", output);
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        Assert.Contains("4 trials finished before, 0 to run", resumed.Stdout);

        // `cancel` knows sweeps too (by id, or as status names their workers' holder); an ended one stays as it ended.
        foreach (var id in new[] { folder.Name, $"sweep#{folder.Name}" })
        {
            var cancel = await cluster.CliAsync(Limit, "cancel", id);
            Assert.True(cancel.ExitCode == 0, cancel.Stdout + cancel.Stderr);
            Assert.Contains($"sweep {folder.Name}: completed", cancel.Stdout);
        }
        // Its workers were released when it ended: every worker is free again.
        var status = await cluster.CliAsync(Limit, "status");
        Assert.DoesNotContain("sweep#", status.Stdout);

        var unknown = await cluster.CliAsync(Limit, "sweep", "--resume", "no-such-sweep", "--out", output);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("Sweep 'no-such-sweep' has no record here", unknown.Stderr);
    }
}
