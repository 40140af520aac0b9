namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Ctrl+C during an embedded `segcluster train` stops the run: exit 130 and one line naming the step and the last
/// checkpoint, as `sweep` exits on Ctrl+C. It used to crash half the time ("Unhandled exception.
/// System.OperationCanceledException", exit 134): the cancelled in-memory reducer threw inside SyncBatchNorm's backward,
/// which autograd calls from native code; the other runs exited 1 without a word. Several runs, each interrupted at
/// another moment of a step, since where a step is when the signal lands decides which path the cancellation takes.
/// </summary>
public sealed class EmbeddedTrainInterruptTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("segcluster-train-interrupt-");

    [Fact]
    [Trait("Category", "Slow")]  // ~20 s: trains until its checkpoints, then interrupts
    public async Task Ctrl_c_stops_an_embedded_run_with_one_line_and_exit_130()
    {
        var spec = Path.Combine(_work.FullName, "syncbn.yaml");
        // Two workers with SyncBatchNorm: its backward all-reduces are where the cancellation used to escape.
        await File.WriteAllTextAsync(spec, """
            name: interrupted
            workers: 2
            dataset: { height: 32, width: 32, num_classes: 6, train_count: 64, validation_count: 8 }
            model: { name: spgnet, width: 8, norm: syncbn }
            training: { steps: 100000, batch_per_worker: 4, checkpoint_every: 5 }
            """);
        var checkpoints = Path.Combine(_work.FullName, "checkpoints");
        var environment = new Dictionary<string, string?> { ["SEGCLUSTER_Node__CheckpointDirectory"] = checkpoints };
        foreach (var (run, delay) in new[] { 0, 70, 140, 210, 280 }.Index())
        {
            var id = $"run-{run}";
            using var cli = CliProcess.StartAt(CliProcess.DefaultDll, environment, ["train", spec, "--id", id, "--out", Path.Combine(_work.FullName, id)]);
            // Once the second checkpoint file exists the first is recorded (rank 0 reports each before it writes the next); the
            // signal lands `delay` ms later, somewhere in a step.
            var folder = Path.Combine(checkpoints, id);
            await ExperimentPolling.UntilAsync(() => Task.FromResult(cli.HasExited
                || Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.ckpt").Count() >= 2), $"{id} wrote no second checkpoint");
            await Task.Delay(delay);
            await cli.InterruptAsync();
            var (exit, stdout, stderr) = await cli.WaitAsync(TimeSpan.FromSeconds(60));  // above the 30 s the process may take to stop on a loaded machine

            var output = $"{id} (signal {delay} ms after its second checkpoint): exit {exit}\n{stdout}\n{stderr}";
            Assert.True(exit == 130, output);
            Assert.DoesNotContain("Unhandled exception", stdout + stderr);
            Assert.True(stderr.Trim().Length == 0, output);  // no logger output, no stack
            var line = Assert.Single(stdout.Split('\n'), l => l.StartsWith("cancelled ", StringComparison.Ordinal));
            Assert.Matches($@"^cancelled {id} at step \d+/100000; last checkpoint: .*step-\d+\.ckpt \(step \d+; continue with the same command and --resume ", line);
        }
    }

    /// <summary>A resumed run Ctrl+C'd before it wrote a checkpoint of its own points at the one it resumed from: it said
    /// "no checkpoint was written", as if its progress were lost.</summary>
    [Fact]
    public void A_resumed_run_cancelled_before_its_own_checkpoint_names_the_one_it_resumed_from()
    {
        var resumedFrom = new Abstractions.Messages.CheckpointRecord(40, "/ckpt/run1/step-000040.ckpt");
        var status = new Abstractions.Messages.ExperimentStatus("run2", Abstractions.Messages.ExperimentState.Cancelled, 43, 100, 1.5, 0, 2, 9, null, null)
            { ResumedFrom = resumedFrom };

        Assert.Equal("cancelled run2 at step 43/100; last checkpoint: /ckpt/run1/step-000040.ckpt (step 40, the one this run resumed from; " +
                     "continue with the same command and --resume /ckpt/run1/step-000040.ckpt)", Cli.Embedded.QuickstartRunner.CancelledLine(status));
        var own = status with { Checkpoint = new Abstractions.Messages.CheckpointRecord(42, "/ckpt/run2/step-000042.ckpt") };
        Assert.EndsWith("last checkpoint: /ckpt/run2/step-000042.ckpt (step 42; continue with the same command and --resume /ckpt/run2/step-000042.ckpt)",
            Cli.Embedded.QuickstartRunner.CancelledLine(own));
        Assert.EndsWith("; no checkpoint was written", Cli.Embedded.QuickstartRunner.CancelledLine(status with { ResumedFrom = null }));
    }

    public void Dispose() => _work.Delete(recursive: true);
}
