using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.TestingHost;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Training;
using SegCluster.Collectives;

namespace SegCluster.Cluster.Tests.Grains;

/// <summary>
/// The coordinator's watchdog over a real worker and its training loop, on one in-process silo whose ranks' failure
/// reports are lost (<see cref="LostFailureReports"/>): what the watchdog learns from the worker is all the coordinator hears.
/// </summary>
public sealed class ExperimentGrainWatchdogTests
{
    /// <summary>One rank, and a learning rate that makes the loss NaN from its second step: no re-formed ring gets past that.</summary>
    private static readonly ExperimentSpec Diverging = new()
    {
        Workers = 1,
        Dataset = new DatasetSpec { NumClasses = 3, Height = 16, Width = 16, TrainCount = 8, ValidationCount = 2 },
        Model = new ModelSpec { Name = "encoder-decoder", Width = 4, Norm = "bn" },
        Training = new TrainingSpec { Steps = 50, BatchPerWorker = 2, LearningRate = 1e300 },
    };

    [Fact]
    public async Task A_rank_that_failed_for_good_with_its_report_lost_ends_the_run_with_its_error_instead_of_a_re_formation()
    {
        using var checkpoints = new TempDirectory("segcluster-watchdog-");
        var lost = new LostFailureReports();
        await using var cluster = await StartAsync(lost, checkpoints);
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        await scheduler.RegisterWorkersAsync(cluster.Silos[0].ServiceProvider.GetRequiredService<IOptions<NodeOptions>>().Value.Workers());

        await scheduler.SubmitAsync("diverging", Diverging);

        // Before the fix the watchdog found the rank not running and re-formed the ring (up to five times, each failing alike).
        Assert.Equal(nameof(ISchedulerGrain.ReleaseAsync), await lost.FirstSchedulerCall.Task.WaitAsync(TimeSpan.FromMinutes(2)));
        var status = await cluster.Client.GetGrain<IExperimentGrain>("diverging").GetStatusAsync();
        Assert.Equal((ExperimentState.Failed, 1, 1), (status.State, status.Attempt, lost.Lost));
        Assert.StartsWith("rank 0: loss is NaN", status.Error);
        Assert.EndsWith("(not retried: a new ring would fail the same way)", status.Error);
    }

    private static async Task<InProcessTestCluster> StartAsync(LostFailureReports lost, TempDirectory checkpoints)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = "segcluster-watchdog-tests";
        builder.ConfigureSilo((_, silo) =>
        {
            foreach (var name in ClusterStorage.All) silo.AddMemoryGrainStorage(name);
            silo.Services.AddSegClusterGrainDependencies();
            silo.Services.Configure<ExperimentOptions>(o => o.WatchdogInterval = TimeSpan.FromSeconds(1));
            silo.Services.AddSingleton<IIncomingGrainCallFilter>(lost);
            // One CPU worker, of a node named as the silo (workers are placed on their node's silo), and what its loops use.
            silo.Services.AddOptions<NodeOptions>().Configure<ILocalSiloDetails>((node, local) =>
                (node.NodeId, node.Devices, node.CheckpointDirectory) = (local.Name, ["cpu"], checkpoints.FullName));
            silo.Services.AddOptions<DataOptions>();
            silo.Services.AddOptions<CollectiveOptions>();
            silo.Services.AddSingleton(_ => new CollectiveMailbox());
            silo.Services.AddSingleton<NodeReducerGroups>();
            silo.Services.AddSingleton<TrainingDataSources>();
            silo.Services.AddSingleton<DeviceOccupancy>();
            silo.Services.AddSingleton<WorkerTrainingLoopFactory>();
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
