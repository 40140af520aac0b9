using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Telemetry;
using SegCluster.Cluster.Training;
using SegCluster.Collectives;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>
/// Rank 0 writes its checkpoints on a background thread (training.async_checkpoint, the default): two worker loops over a
/// loopback TCP ring with a 5 s Collectives:Timeout, and rank 0's file writes held on a gate that opens when rank 1 has
/// taken a later step. Written within the step, as before, a held write kept rank 0 from the next step's all-reduce, rank 1
/// gave up on it after Timeout, and every test here failed with a broken ring (the gate then opens on rank 1's end).
/// </summary>
public sealed class AsyncCheckpointTests
{
    private const int Steps = 4;

    private static ExperimentSpec Spec(int checkpointEvery = 2, int validateEvery = 0) => new()
    {
        Workers = 2,
        Dataset = new DatasetSpec { NumClasses = 3, Height = 16, Width = 16, TrainCount = 8, ValidationCount = 4 },
        Model = new ModelSpec { Name = "encoder-decoder", Width = 4, Norm = "gn" },
        Training = new TrainingSpec { Steps = Steps, BatchPerWorker = 2, CheckpointEvery = checkpointEvery, ValidateEvery = validateEvery },
    };

    [Fact]
    public async Task Rank_1_trains_on_while_rank_0_writes_best_and_step_checkpoints_of_a_step()
    {
        using var folder = new TempDirectory("segcluster-asyncckpt-");
        var run = new TwoRanks("held", Spec(validateEvery: 2), folder.FullName);
        var held = new ConcurrentQueue<(string File, bool Rank1Finished)>();
        run.FileWrite = (path, write) =>
        {
            // Step 2's validation is its first, so it writes best.ckpt, then step-000002.ckpt: both held until rank 1 ended its run.
            if (held.Count < 2) held.Enqueue((Path.GetFileName(path), run.Rank1Reached(Steps)));
            write();
        };

        var failures = await run.RunAsync();

        Assert.All(failures, Assert.Null);
        Assert.Equal([("best.ckpt", true), ("step-000002.ckpt", true)], held);
        Assert.Equal([0, 1], run.Coordinator.Completed.Order());
        Assert.Equal([2, Steps], run.Coordinator.Checkpoints.Select(c => c.Record.Step));
        Assert.All(run.Coordinator.Checkpoints, c => Assert.True(c.OnDisk, $"{c.Record.Path} reported before it was on disk"));
        var first = run.Coordinator.Validations.First();
        Assert.Equal((2, Path.Combine(run.Directory, "best.ckpt"), true), (first.Step, first.Best?.Path, first.OnDisk));
    }

    [Fact]
    public async Task A_checkpoint_that_cannot_be_written_fails_the_run_naming_the_file_and_the_cause()
    {
        using var folder = new TempDirectory("segcluster-asyncckpt-");
        var run = new TwoRanks("full-disk", Spec(), folder.FullName);
        var path = StepCheckpoints.PathFor(run.Directory, 2);
        bool? rank1TookStep3 = null;
        run.FileWrite = (file, write) =>
        {
            if (file != path)
            {
                write();
                return;
            }
            rank1TookStep3 = run.Rank1Reached(3);
            throw new IOException("No space left on device");
        };

        var failures = await run.RunAsync();

        Assert.True(rank1TookStep3);
        var failure = Assert.IsType<RankFailure>(failures[0]);
        Assert.Contains($"'{path}'", failure.Error);
        Assert.Contains("No space left on device", failure.Error);
        Assert.True(failure.Retryable);  // a re-formed ring resumes from the last checkpoint recorded
        Assert.Equal(failure.Error, run.Coordinator.Failures[0]);
        Assert.DoesNotContain(run.Coordinator.Checkpoints, c => c.Record.Step >= 2);
        Assert.DoesNotContain(0, run.Coordinator.Completed);
    }

    [Fact]
    public async Task The_coordinator_records_a_checkpoint_once_it_is_on_disk_and_a_run_resumed_from_it_ends_byte_for_byte()
    {
        using var folder = new TempDirectory("segcluster-asyncckpt-");
        var run = new TwoRanks("reference", Spec(), Path.Combine(folder.FullName, "a"));
        var path = StepCheckpoints.PathFor(run.Directory, 2);
        bool? rank1TookStep3 = null, knownBeforeWritten = null;
        run.FileWrite = (file, write) =>
        {
            if (file == path)
            {
                rank1TookStep3 = run.Rank1Reached(3);
                knownBeforeWritten = !run.Coordinator.Checkpoints.IsEmpty || File.Exists(path);
            }
            write();
        };

        Assert.All(await run.RunAsync(), Assert.Null);
        Assert.True(rank1TookStep3);
        Assert.False(knownBeforeWritten);
        Assert.Equal([2, Steps], run.Coordinator.Checkpoints.Select(c => c.Record.Step));
        Assert.All(run.Coordinator.Checkpoints, c => Assert.True(c.OnDisk, $"{c.Record.Path} reported before it was on disk"));

        var resumed = new TwoRanks("resumed", Spec(), Path.Combine(folder.FullName, "b")) { ResumeFrom = run.Coordinator.Checkpoints.First().Record };
        Assert.All(await resumed.RunAsync(), Assert.Null);
        var final = Assert.Single(resumed.Coordinator.Checkpoints).Record;
        Assert.Equal(Steps, final.Step);
        Assert.Equal(await File.ReadAllBytesAsync(run.Coordinator.Checkpoints.Last().Record.Path), await File.ReadAllBytesAsync(final.Path));
    }

    /// <summary>A checkpoint every step, each write held until rank 1 took the next step, when rank 0's next checkpoint is due
    /// and must wait for it: never two writes at once, and each file holds its own step (the next step's copy into the same
    /// host memory waits for the write), byte for byte those of a run whose writes were not held.</summary>
    [Fact]
    public async Task At_most_one_write_is_in_flight_and_each_file_holds_its_own_step()
    {
        using var folder = new TempDirectory("segcluster-asyncckpt-");
        var reference = new TwoRanks("free", Spec(checkpointEvery: 1), Path.Combine(folder.FullName, "free"));
        Assert.All(await reference.RunAsync(), Assert.Null);
        var run = new TwoRanks("held", Spec(checkpointEvery: 1), Path.Combine(folder.FullName, "held"));
        int inFlight = 0, most = 0;
        var released = new ConcurrentQueue<bool>();
        run.FileWrite = (path, write) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref most, now);
            var step = int.Parse(Path.GetFileNameWithoutExtension(path)["step-".Length..]);
            if (step < Steps) released.Enqueue(run.Rank1Reached(step + 1));
            write();
            Interlocked.Decrement(ref inFlight);
        };

        Assert.All(await run.RunAsync(), Assert.Null);

        Assert.Equal(1, most);
        Assert.Equal(Enumerable.Repeat(true, Steps - 1), released);
        Assert.Equal(Enumerable.Range(1, Steps), run.Coordinator.Checkpoints.Select(c => c.Record.Step));
        foreach (var (expected, actual) in reference.Coordinator.Checkpoints.Zip(run.Coordinator.Checkpoints))
        {
            byte[] unheld = await File.ReadAllBytesAsync(expected.Record.Path), written = await File.ReadAllBytesAsync(actual.Record.Path);
            Assert.True(unheld.SequenceEqual(written), $"{actual.Record.Path} differs from the run whose writes were not held");
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }

    /// <summary>Two worker loops of one experiment on their own threads, over a loopback TCP ring with a 5 s Timeout, rank 0's
    /// checkpoint files written through <see cref="FileWrite"/>.</summary>
    private sealed class TwoRanks(string id, ExperimentSpec spec, string checkpointRoot)
    {
        private readonly TaskCompletionSource _rank1Ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Coordinator Coordinator { get; } = (Coordinator)(object)DispatchProxy.Create<IExperimentGrain, Coordinator>();

        public CheckpointRecord? ResumeFrom { get; init; }

        public Action<string, Action> FileWrite { get; set; } = (_, write) => write();

        /// <summary>The experiment's checkpoint folder.</summary>
        public string Directory => Path.Combine(checkpointRoot, id);

        /// <summary>Waits until rank 1 reported <paramref name="step"/> (true) or its run ended without it (false): the bound
        /// of a held write, which without the background writer held rank 1 too, until its ring timed out.</summary>
        public bool Rank1Reached(int step)
        {
            var reported = Coordinator.StepReported(1, step);
            Task.WaitAny(reported, _rank1Ended.Task);
            return reported.IsCompleted;
        }

        public async Task<RankFailure?[]> RunAsync()
        {
            await using var hosts = await LoopbackCollectiveHosts.StartAsync(2);
            using var services = new ServiceCollection().AddMetrics().AddSingleton<SegClusterMetrics>().BuildServiceProvider();
            var metrics = services.GetRequiredService<SegClusterMetrics>();
            var grains = LoopGrains.Of((IExperimentGrain)(object)Coordinator, spec.Dataset.TrainCount);
            var runs = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
            {
                try
                {
                    var loop = new WorkerTrainingLoop(
                        new TrainingAssignment(id, spec, rank, hosts.Endpoints, $"{id}/shard", $"{id}/ring") { ResumeFrom = ResumeFrom },
                        new WorkerInfo($"node{rank}/0", $"node{rank}", "cpu", hosts[rank].Endpoint),
                        grains, hosts[rank].Mailbox, new CollectiveOptions { Timeout = TimeSpan.FromSeconds(5) }, new NodeReducerGroups(), metrics,
                        new TrainingDataSources(Options.Create(new DataOptions()), metrics, NullLogger<TrainingDataSources>.Instance),
                        new DeviceOccupancy(), checkpointRoot, SpecPathPolicy.Unrestricted, NullLogger<WorkerTrainingLoop>.Instance, NullLogger.Instance)
                    {
                        CheckpointFileWrite = (path, write) => FileWrite(path, write),
                    };
                    return loop.Run(CancellationToken.None);
                }
                finally
                {
                    if (rank == 1) _rank1Ended.TrySetResult();
                }
            }, TaskCreationOptions.LongRunning));
            return await Task.WhenAll(runs).WaitAsync(TimeSpan.FromMinutes(3));
        }
    }

    /// <summary>The experiment grain of <see cref="TwoRanks"/>: records the reports, and whether each file reported was whole
    /// on disk at the time.</summary>
    public class Coordinator : DispatchProxy
    {
        private readonly ConcurrentDictionary<(int Rank, int Step), TaskCompletionSource> _steps = new();

        public ConcurrentQueue<(CheckpointRecord Record, bool OnDisk)> Checkpoints { get; } = new();

        public ConcurrentQueue<(int Step, CheckpointRecord? Best, bool OnDisk)> Validations { get; } = new();

        public ConcurrentBag<int> Completed { get; } = [];

        public ConcurrentDictionary<int, string> Failures { get; } = new();

        public Task StepReported(int rank, int step) => Step(rank, step).Task;

        private TaskCompletionSource Step(int rank, int step) =>
            _steps.GetOrAdd((rank, step), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            switch (method!.Name)
            {
                case nameof(IExperimentGrain.ReportStepAsync):
                    var report = (StepReport)args![0]!;
                    Step(report.Rank, report.Step).TrySetResult();
                    return Task.CompletedTask;
                case nameof(IExperimentGrain.ReportCheckpointAsync):
                    var checkpoint = (CheckpointRecord)args![1]!;
                    Checkpoints.Enqueue((checkpoint, OnDisk(checkpoint.Path)));
                    return Task.FromResult(true);
                case nameof(IExperimentGrain.ReportValidationAsync):
                    var best = (CheckpointRecord?)args![2];
                    Validations.Enqueue((((ValidationPoint)args[1]!).Step, best, best is null || OnDisk(best.Path)));
                    return Task.CompletedTask;
                case nameof(IExperimentGrain.ReportCompletedAsync):
                    Completed.Add((int)args![0]!);
                    return Task.CompletedTask;
                case nameof(IExperimentGrain.ReportFailedAsync):
                    Failures[(int)args![0]!] = (string)args[2]!;
                    return Task.CompletedTask;
                case nameof(IExperimentGrain.GetStatusAsync):
                    return Task.FromResult(new ExperimentStatus("experiment", ExperimentState.Running, 0, Steps, 0, 0, 2, 0, null, null));
                default:
                    throw new NotSupportedException(method.Name);
            }
        }

        /// <summary>Renamed into place whole: the file is there, its temp file is not, and its header reads.</summary>
        private static bool OnDisk(string path)
        {
            try
            {
                return File.Exists(path) && !File.Exists(path + ".tmp") && CheckpointStore.ReadMetadata(path).StateShapes.Count > 0;
            }
            catch (InvalidDataException)
            {
                return false;
            }
        }
    }
}
