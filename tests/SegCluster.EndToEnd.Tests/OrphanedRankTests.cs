using Orleans.Core.Internal;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using static SegCluster.EndToEnd.Tests.ExperimentPolling;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Ranks whose loops stop with no report and no node leaving the cluster, as when Orleans deactivates busy worker
/// activations because the silo holding their directory entries died (seen in CI: the coordinator's node was killed, both
/// other workers lost their activations, and the re-activated coordinator waited for step reports for ever). Both ranks
/// of the ring stop, so no peer's collective times out and reports for them: only the fix notices.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class OrphanedRankTests : IDisposable
{
    /// <summary>Collectives:Timeout of these nodes, longer than the test may run (<see cref="ExperimentPolling.Limit"/>): a rank
    /// left waiting in a sum would report on its own after it, so within the test only the fix can notice the stopped ranks.</summary>
    private static readonly TimeSpan CollectiveTimeout = TimeSpan.FromHours(1);
    private readonly DirectoryInfo _checkpoints = Directory.CreateTempSubdirectory("segcluster-orphan-");

    [Fact]
    public async Task Workers_deactivated_under_their_loops_tell_the_experiment_which_re_forms_and_completes()
    {
        // A watchdog that never ticks in this test: the workers' own notice must do it.
        await using var node = await StartAsync(watchdog: TimeSpan.FromHours(1));
        var (experiment, running) = await SubmitAsync(node, "deactivated");

        // What Orleans does to an activation whose directory partition's owner died (reason DirectoryFailure), asked for here.
        await Task.WhenAll(running.WorkerIds.Select(id => node.Grains.GetGrain<IWorkerGrain>(id).AsReference<IGrainManagementExtension>().DeactivateOnIdle().AsTask()));

        await ReFormedAsync(experiment);
        var final = await UntilFinalAsync(experiment);
        Assert.Equal(ExperimentState.Completed, final.State);
        Assert.True(final.Attempt >= 2, $"attempt {final.Attempt}");
    }

    [Fact]
    public async Task The_watchdog_re_forms_a_ring_whose_loops_stopped_without_a_report()
    {
        await using var node = await StartAsync(watchdog: TimeSpan.FromSeconds(1));
        var (experiment, running) = await SubmitAsync(node, "vanished");

        // A worker's cancel stops its loop with no report (the experiment's own cancels do that when it ends or re-forms).
        await Task.WhenAll(running.WorkerIds.Select(id => node.Grains.GetGrain<IWorkerGrain>(id).CancelAsync("vanished")));

        await ReFormedAsync(experiment);
        var final = await UntilFinalAsync(experiment);
        Assert.Equal(ExperimentState.Completed, final.State);
        Assert.True(final.Attempt >= 2, $"attempt {final.Attempt}");
    }

    private async Task<SegCluster.Cli.Embedded.EmbeddedCluster> StartAsync(TimeSpan watchdog) =>
        await EmbeddedTestNode.StartAsync(workers: 2, _checkpoints, new Dictionary<string, string?>
        {
            ["Experiments:WatchdogInterval"] = watchdog.ToString("c"),
            ["Collectives:Timeout"] = CollectiveTimeout.ToString("c"),
        });

    private static async Task<(IExperimentGrain, ExperimentStatus)> SubmitAsync(SegCluster.Cli.Embedded.EmbeddedCluster node, string id)
    {
        await node.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).SubmitAsync(id, Spec());
        var experiment = node.Grains.GetGrain<IExperimentGrain>(id);
        var running = await UntilAsync(experiment, s => s.Step > 0);
        Assert.Equal((ExperimentState.Running, 1, 2), (running.State, running.Attempt, running.WorkerIds.Count));
        return (experiment, running);
    }

    private static Task ReFormedAsync(IExperimentGrain experiment) => UntilAsync(experiment, s => s.Attempt >= 2);

    /// <summary>Two ranks of a tiny model, long enough to be running when the test stops them.</summary>
    private static ExperimentSpec Spec() => new()
    {
        Workers = 2,
        Dataset = new DatasetSpec { NumClasses = 3, Height = 16, Width = 16, TrainCount = 8, ValidationCount = 2 },
        Model = new ModelSpec { Name = "encoder-decoder", Width = 4, Norm = "bn" },
        Training = new TrainingSpec { Steps = 300, BatchPerWorker = 2, CheckpointEvery = 100 },
    };

    public void Dispose() => _checkpoints.Delete(recursive: true);
}
