using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using static SegCluster.EndToEnd.Tests.ExperimentPolling;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Resume after a re-formation through the real path, in one process: an embedded node (scheduler, experiment and
/// worker grains, gRPC ring) runs a scheduled experiment uninterrupted, then the same spec again with a rank failure
/// injected after the first checkpoint. The coordinator aborts the ring, the scheduler hands out a new gang (one
/// worker is held by a blocker, so the ranks move to other workers), every rank loads the checkpoint and skips the
/// steps taken: the final checkpoint must equal the uninterrupted run's byte for byte (same seed, same data order).
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class ReformationResumeTests : IDisposable
{
    private const int Steps = 30, CheckpointEvery = 3;  // 9 steps could end between the poll that saw the checkpoint and the injected failure (CI)
    private readonly DirectoryInfo _checkpoints = Directory.CreateTempSubdirectory("segcluster-reform-");

    [Fact]
    public async Task A_run_re_formed_after_a_rank_failure_ends_with_the_uninterrupted_runs_checkpoint()
    {
        await using var node = await EmbeddedTestNode.StartAsync(workers: 3, _checkpoints);
        var scheduler = node.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        var spec = Spec();

        await scheduler.SubmitAsync("reference", spec);
        var reference = await UntilFinalAsync(node.Grains.GetGrain<IExperimentGrain>("reference"));
        Assert.Equal(ExperimentState.Completed, reference.State);

        // A one-worker blocker holds local/0, so the first gang is local/1 + local/2; cancelled before the failure,
        // it lets the re-formed gang be local/0 + local/1: every rank moves to another worker.
        var blocker = await scheduler.SubmitAsync("blocker", spec with { Workers = 1, Training = spec.Training with { Steps = 10_000, CheckpointEvery = 0 } });
        var ticket = await scheduler.SubmitAsync("interrupted", spec);
        await node.Grains.GetGrain<IExperimentGrain>("blocker").CancelAsync();
        var interrupted = node.Grains.GetGrain<IExperimentGrain>("interrupted");
        var running = await UntilAsync(interrupted, s => s.Checkpoint?.Step >= CheckpointEvery);
        await interrupted.ReportFailedAsync(1, running.Attempt, "injected failure");
        var final = await UntilFinalAsync(interrupted);

        Assert.Equal(ExperimentState.Completed, final.State);
        Assert.Equal(2, final.Attempt);
        Assert.InRange(final.StepsRedone, 0, CheckpointEvery);
        Assert.Equal(blocker.Workers, node.WorkerIds.Take(1));
        Assert.Equal(node.WorkerIds.Skip(1), ticket.Workers);
        Assert.Equal(node.WorkerIds.Take(2), final.WorkerIds);
        Assert.Equal(await File.ReadAllBytesAsync(reference.Checkpoint!.Path), await File.ReadAllBytesAsync(final.Checkpoint!.Path));
    }

    /// <summary>The spec of the multi-node tests (RedisClusterFailureTests), so both check the same run.</summary>
    private static ExperimentSpec Spec() => SpecFiles.Parse<ExperimentSpec>(RedisCluster.SpecYaml(Steps, CheckpointEvery), SpecFormat.Yaml);

    public void Dispose() => _checkpoints.Delete(recursive: true);
}
