using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Grains;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// A worker grain runs its training loop on its own thread without grain calls, so Orleans would see an idle activation.
/// It is kept while the loop runs (collected, a new activation would take a second loop onto the same device), and
/// given back to the regular collection once the loop ends (it was kept for 7 days, and a longer run lost it).
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class WorkerActivationTests : IDisposable
{
    private readonly DirectoryInfo _checkpoints = Directory.CreateTempSubdirectory("segcluster-worker-activation-");

    [Fact]
    public async Task A_worker_is_kept_while_its_loop_runs_and_collected_after()
    {
        await using var node = await EmbeddedTestNode.StartAsync(workers: 1, _checkpoints);
        var spec = new ExperimentSpec
        {
            Workers = 1,
            Dataset = new DatasetSpec { NumClasses = 3, Height = 16, Width = 16, TrainCount = 8, ValidationCount = 2 },
            Model = new ModelSpec { Name = "encoder-decoder", Width = 4, Norm = "bn" },
            Training = new TrainingSpec { Steps = 1_000_000, BatchPerWorker = 2, CheckpointEvery = 0 },
        };
        var experiment = node.Grains.GetGrain<IExperimentGrain>("kept");
        var worker = node.Grains.GetGrain<IWorkerGrain>(node.WorkerIds[0]);
        var management = node.Grains.GetGrain<IManagementGrain>(0);
        await node.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).SubmitAsync("kept", spec);
        await ExperimentPolling.UntilAsync(experiment, s => s.Step > 0);

        await management.ForceActivationCollection(TimeSpan.Zero);  // every idle activation, whatever its age
        var other = new TrainingAssignment("other", spec, 0, ["unused"], "", "other/a1");
        var busy = await Assert.ThrowsAsync<InvalidOperationException>(() => worker.RunAsync(other));
        Assert.Contains("busy with experiment 'kept'", busy.Message);

        await experiment.CancelAsync();
        await ExperimentPolling.UntilFinalAsync(experiment);
        await ExperimentPolling.UntilAsync(async () =>
        {
            await management.ForceActivationCollection(TimeSpan.Zero);
            return await GrainActivations.CountAsync(node.Grains, typeof(WorkerGrain)) == 0;
        }, "the worker's activation was kept after its loop ended");
    }

    public void Dispose() => _checkpoints.Delete(recursive: true);
}
