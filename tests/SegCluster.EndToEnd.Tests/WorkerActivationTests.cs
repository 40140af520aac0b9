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
    /// <summary>Fails a call that hangs (RunAsync waiting for the stuck loop, a read of a pipe nobody writes); not a bound
    /// on how fast anything must be.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _checkpoints = Directory.CreateTempSubdirectory("segcluster-worker-activation-");

    [Fact]
    public async Task A_worker_is_kept_while_its_loop_runs_and_collected_after()
    {
        await using var node = await EmbeddedTestNode.StartAsync(workers: 1, _checkpoints);
        var spec = LongRun(checkpointEvery: 0);
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

    /// <summary>A sweep hands a worker to its next trial right after stopping the last: the stopped loop may be inside a step
    /// that cannot be interrupted (here a checkpoint write blocked on a named pipe, as on a slow share). The next run is
    /// followed behind it instead of being refused "busy" after a 20 s wait, which failed the trial without a step.</summary>
    [Fact]
    public async Task A_run_given_a_worker_whose_stopped_loop_is_stuck_in_a_step_is_queued_behind_it_not_refused()
    {
        await using var node = await EmbeddedTestNode.StartAsync(workers: 1, _checkpoints);
        var spec = LongRun(checkpointEvery: 3);
        var folder = Directory.CreateDirectory(Path.Combine(_checkpoints.FullName, "stuck"));
        var pipe = Path.Combine(folder.FullName, "step-000003.ckpt.tmp");  // the first checkpoint's temporary file
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", pipe)) await mkfifo.WaitForExitAsync();
        var experiment = node.Grains.GetGrain<IExperimentGrain>("stuck");
        var worker = node.Grains.GetGrain<IWorkerGrain>(node.WorkerIds[0]);
        await node.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).SubmitAsync("stuck", spec);
        await ExperimentPolling.UntilAsync(experiment, s => s.Step >= 3);

        await experiment.CancelAsync();
        await worker.RunAsync(new TrainingAssignment("next", spec, 0, ["unused"], "", "next/a1")).WaitAsync(HangGuard);
        var run = await worker.GetRunAsync();
        Assert.Equal("next", run.ExperimentId);

        // Opening the pipe for writing blocks the stopped loop until a reader opens it, so it could not have ended before
        // this read: the checkpoint's bytes arriving here show RunAsync returned while the old loop was still in its step.
        // (A loop that never reached the pipe leaves this read waiting: the hang guard fails the test.) Read by `wc`, not a
        // FileStream: .NET takes an advisory lock on what it opens, and the writer's exclusive one made a reader here fail
        // "being used by another process" whenever it locked first.
        var written = await BytesReadFromAsync(pipe);
        Assert.True(written > 0, "the stopped loop wrote nothing into its checkpoint's pipe");
    }

    /// <summary>Reads the named pipe to its end and returns how many bytes came.</summary>
    private static async Task<long> BytesReadFromAsync(string pipe)
    {
        using var wc = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("wc", ["-c", pipe]) { RedirectStandardOutput = true })!;
        try
        {
            var output = await wc.StandardOutput.ReadToEndAsync().WaitAsync(HangGuard);
            await wc.WaitForExitAsync();
            Assert.Equal(0, wc.ExitCode);
            return long.Parse(output.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]);
        }
        finally
        {
            if (!wc.HasExited) wc.Kill();
        }
    }

    /// <summary>A one-worker run of tiny steps that does not end by itself.</summary>
    private static ExperimentSpec LongRun(int checkpointEvery) => new()
    {
        Workers = 1,
        Dataset = new DatasetSpec { NumClasses = 3, Height = 16, Width = 16, TrainCount = 8, ValidationCount = 2 },
        Model = new ModelSpec { Name = "encoder-decoder", Width = 4, Norm = "bn" },
        Training = new TrainingSpec { Steps = 1_000_000, BatchPerWorker = 2, CheckpointEvery = checkpointEvery },
    };

    public void Dispose() => _checkpoints.Delete(recursive: true);
}
