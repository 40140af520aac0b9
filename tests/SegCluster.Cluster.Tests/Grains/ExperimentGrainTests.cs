using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Storage;
using Orleans.TestingHost;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Training;
using StackExchange.Redis;

namespace SegCluster.Cluster.Tests.Grains;

/// <summary>
/// The experiment coordinator on its own, with the ranks' reports sent by the test: its record starts as a running
/// two-rank ring (written to storage as the launch would have), so no workers are needed.
/// </summary>
public sealed class ExperimentGrainTests
{
    private const string StateName = "experiment";
    /// <summary>Fails a call that hangs; not a bound on how fast anything must be.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private static readonly EvaluationReport Evaluation = new(0.75, 0.9, [0.5, 1.0], ["background", "object"]);

    [RequiresRedisFact]
    public async Task Completions_reported_before_the_coordinator_moved_still_count()
    {
        await using var redis = await RedisServer.StartAsync();
        void Storage(ISiloBuilder silo) => silo.AddSegClusterRedisGrainStorage(ConfigurationOptions.Parse(redis.Address));
        var time = NewClock();

        await using (var cluster = await StartAsync(Storage, time))
        {
            var grain = await SeedRunningAsync(cluster, "moved", (grainId, record) => cluster.Silos[0].ServiceProvider
                .GetRequiredKeyedService<IGrainStorage>(ClusterStorage.Experiments).WriteStateAsync(StateName, grainId, new GrainState<ExperimentRecord>(record)));
            await StepsAsync(grain, time);
            await grain.ReportCompletedAsync(rank: 1, attempt: 1, evaluation: null);
            // Rank 0 is still in its final evaluation when the coordinator's node is lost.
            await cluster.KillSiloAsync(cluster.Silos[0]);
        }

        await using (var cluster = await StartAsync(Storage, time))
        {
            var grain = cluster.Client.GetGrain<IExperimentGrain>("moved");
            await grain.ReportCompletedAsync(rank: 0, attempt: 1, Evaluation);
            var status = await grain.GetStatusAsync();
            Assert.Equal(ExperimentState.Completed, status.State);
            Assert.Equal(0.75, status.Evaluation?.MeanIoU);
            Assert.Equal(4, status.ImagesPerSecond, 9);  // persisted with the record, not lost with the activation
        }
    }

    [Fact]
    public async Task Images_per_second_stop_at_the_last_step_report()
    {
        var storage = new GatedGrainStorage();
        var time = NewClock();
        await using var cluster = await StartAsync(silo => AddStorage(silo, storage), time);
        var grain = await SeedRunningAsync(cluster, "frozen", Seed(storage));

        await StepsAsync(grain, time);
        await grain.ReportCompletedAsync(rank: 1, attempt: 1, evaluation: null);
        time.Advance(TimeSpan.FromSeconds(30));  // rank 0's final evaluation
        await grain.ReportCompletedAsync(rank: 0, attempt: 1, Evaluation);
        time.Advance(TimeSpan.FromMinutes(10));  // a sweep reads its trials' rates at its end

        var status = await grain.GetStatusAsync();
        Assert.Equal(ExperimentState.Completed, status.State);
        Assert.Equal(4, status.ImagesPerSecond, 9);  // step 2's 8 images in the 2 s after step 1 (which starts the clock)
    }

    [Fact]
    public async Task A_step_report_does_not_wait_for_the_coordinators_storage_write()
    {
        var storage = new GatedGrainStorage();
        await using var cluster = await StartAsync(silo => AddStorage(silo, storage), NewClock());
        var grain = await SeedRunningAsync(cluster, "busy", Seed(storage));

        storage.Hold();
        var checkpoint = grain.ReportCheckpointAsync(1, new CheckpointRecord(2, "/ckpt/step-000002.ckpt"));
        await storage.WriteHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // A rank's step (and a status poll) while the coordinator's write is still in progress.
        await grain.ReportStepAsync(Step(rank: 0, step: 3, loss: 0.25)).WaitAsync(TimeSpan.FromSeconds(5));
        var status = await grain.GetStatusAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal((3, 0.25), (status.Step, status.Loss));
        Assert.False(checkpoint.IsCompleted);

        storage.Release();
        Assert.True(await checkpoint);  // recorded: rank 0 may prune older files
        Assert.Equal(2, (await grain.GetStatusAsync()).Checkpoint?.Step);
        // A stale attempt's checkpoint is ignored and says so: its rank 0 must not prune the file the current ring resumes from.
        Assert.False(await grain.ReportCheckpointAsync(0, new CheckpointRecord(3, "/ckpt/step-000003.ckpt")));
        Assert.Equal(2, (await grain.GetStatusAsync()).Checkpoint?.Step);
    }

    /// <summary>The retries' pauses (250 ms, then 1 s) pass on the coordinator's clock, a fake one here, advanced once each
    /// pause has begun: the test does not wait them out.</summary>
    [Fact]
    public async Task A_run_whose_record_writes_fail_for_a_moment_still_completes_and_records_it()
    {
        var storage = new GatedGrainStorage();
        var time = new WaitWatchingTimeProvider();
        await using var cluster = await StartAsync(silo => AddStorage(silo, storage), time);
        var grain = await SeedRunningAsync(cluster, "blip", Seed(storage));
        await StepsAsync(grain, time);
        await grain.ReportCompletedAsync(rank: 1, attempt: 1, evaluation: null);

        storage.FailNextWrites(2);  // a Redis failover while the last rank reports
        var completing = grain.ReportCompletedAsync(rank: 0, attempt: 1, Evaluation);
        foreach (var pause in new[] { TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1) })
        {
            Assert.Equal(pause, await time.NextWaitAsync().WaitAsync(HangGuard));
            time.Advance(pause);
        }
        await completing.WaitAsync(HangGuard);

        Assert.Equal(ExperimentState.Completed, (await grain.GetStatusAsync()).State);
        // Written, so a later activation reads the ended run (and its gang was released after the write).
        await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(ExperimentState.Completed, (await grain.GetStatusAsync()).State);
    }

    /// <summary>A re-formed ring starts a new throughput clock: the recovery between the rings (here 5 minutes waiting for
    /// a gang) is not training time, so images/s stays the rings' own rate.</summary>
    [Fact]
    public async Task A_re_formed_ring_starts_a_new_throughput_clock()
    {
        var storage = new GatedGrainStorage();
        var time = NewClock();
        await using var cluster = await StartWithoutWorkersAsync(storage, time);
        var grain = await SeedRunningAsync(cluster, "reformed", Seed(storage), scheduled: true);
        await StepsAsync(grain, time);  // 8 counted images in 2 s

        await grain.ReportFailedAsync(rank: 1, attempt: 1, "rank 1's node was lost");  // no free gang: it waits in the queue
        Assert.Equal(0, (await grain.GetStatusAsync()).Workers);
        time.Advance(TimeSpan.FromMinutes(5));
        await grain.ResumeAsync(["w/2", "w/3"]);  // the scheduler's new gang
        var resumed = await grain.GetStatusAsync();
        Assert.Equal((2, 2), (resumed.Attempt, resumed.Workers));
        await StepsAsync(grain, time, attempt: 2);  // 8 more in 2 s, from the new ring's first step

        Assert.Equal(4, (await grain.GetStatusAsync()).ImagesPerSecond, 9);  // 16 images in 4 s; with the 5 minutes, 0.05
    }

    /// <summary>A resume that comes after the ring was formed (a duplicate queue entry's turn) is ignored, and its gang, which the
    /// scheduler allocated to the run all the same, goes back: before, it stayed allocated until the run ended, and the
    /// experiments queued behind it starved.</summary>
    [Fact]
    public async Task A_stale_resume_gives_its_gang_back_to_the_scheduler()
    {
        var storage = new GatedGrainStorage();
        await using var cluster = await StartWithoutWorkersAsync(storage, NewClock());
        var grain = await SeedRunningAsync(cluster, "formed", Seed(storage), scheduled: true);
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        var node = cluster.Silos[0].ServiceProvider.GetRequiredService<ILocalSiloDetails>().Name;
        await scheduler.RegisterWorkersAsync([.. Enumerable.Range(0, 2).Select(i => new WorkerInfo(WorkerIds.For(node, i), node, "cpu", ""))]);
        var stale = await scheduler.ReformAsync("formed", workers: 2, "cpu");  // the gang the duplicate entry's turn allocated
        Assert.Equal(2, stale.Count);

        await grain.ResumeAsync(stale);

        var status = await grain.GetStatusAsync();
        Assert.Equal(1, status.Attempt);  // still on its ring
        Assert.Equal(["w/0", "w/1"], status.WorkerIds);
        Assert.All((await scheduler.GetSnapshotAsync()).Workers, w => Assert.Null(w.ExperimentId));
    }

    /// <summary>The stale resume gives its gang back with one call. When that call is lost, the scheduler's check finds the
    /// run on its own ring and returns the rest of what it holds for it: before, those workers stayed held until the run
    /// ended, and the experiments queued behind them waited as long.</summary>
    [Fact]
    public async Task A_stale_resumes_gang_whose_give_back_was_lost_is_freed_by_the_schedulers_check()
    {
        var storage = new GatedGrainStorage();
        var returns = new LostReturns();
        await using var cluster = await StartWithoutWorkersAsync(storage, NewClock(), silo => silo.AddIncomingGrainCallFilter(returns));
        var grain = await SeedRunningAsync(cluster, "formed", Seed(storage), scheduled: true);
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        var node = cluster.Silos[0].ServiceProvider.GetRequiredService<ILocalSiloDetails>().Name;
        await scheduler.RegisterWorkersAsync([.. Enumerable.Range(0, 2).Select(i => new WorkerInfo(WorkerIds.For(node, i), node, "cpu", ""))]);
        var stale = await scheduler.ReformAsync("formed", workers: 2, "cpu");

        await grain.ResumeAsync(stale);
        Assert.Equal(1, returns.Lost);
        Assert.All((await scheduler.GetSnapshotAsync()).Workers, w => Assert.Equal("formed", w.ExperimentId));
        await scheduler.CheckAsync();

        Assert.All((await scheduler.GetSnapshotAsync()).Workers, w => Assert.Null(w.ExperimentId));
        Assert.Equal(["w/0", "w/1"], (await grain.GetStatusAsync()).WorkerIds);  // still on its ring
    }

    /// <summary>Loses the experiments' ReturnAsync calls to the scheduler, as when the scheduler's node died under them.</summary>
    private sealed class LostReturns : IIncomingGrainCallFilter
    {
        private int _lost;

        public int Lost => Volatile.Read(ref _lost);

        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.MethodName != nameof(ISchedulerGrain.ReturnAsync)) return context.Invoke();
            Interlocked.Increment(ref _lost);
            throw new TimeoutException("Response did not arrive on time (the scheduler's node died, scripted).");
        }
    }

    /// <summary>A re-formed ring redoes the steps after its checkpoint: the coordinator's loss curve drops them first, so a
    /// follower paging through it by its last step (a sweep's trial runner) never sees the steps go back, and counts each
    /// once. The curve kept the broken ring's steps and appended the redone ones (1, 2, 3, 2, 3).</summary>
    [Fact]
    public async Task A_re_formed_rings_redone_steps_replace_the_broken_rings_in_the_loss_curve()
    {
        var storage = new GatedGrainStorage();
        var time = NewClock();
        await using var cluster = await StartWithoutWorkersAsync(storage, time);
        var grain = await SeedRunningAsync(cluster, "redone", Seed(storage), scheduled: true);
        foreach (var (step, loss) in new[] { (1, 1.0), (2, 0.9), (3, 0.8) })
        {
            await grain.ReportStepAsync(Step(rank: 0, step, loss));
            if (step == 1) Assert.True(await grain.ReportCheckpointAsync(1, new CheckpointRecord(1, "/ckpt/step-000001.ckpt")));
        }

        await grain.ReportFailedAsync(rank: 1, attempt: 1, "rank 1's node was lost");
        Assert.Equal([new CurvePoint(1, 1.0)], await grain.GetLossesAsync(afterStep: 0));
        await grain.ResumeAsync(["w/2", "w/3"]);  // from the checkpoint of step 1
        await grain.ReportStepAsync(Step(rank: 0, step: 2, loss: 0.5, attempt: 2));
        await grain.ReportStepAsync(Step(rank: 0, step: 3, loss: 0.4, attempt: 2));

        Assert.Equal([new CurvePoint(1, 1.0), new CurvePoint(2, 0.5), new CurvePoint(3, 0.4)], await grain.GetLossesAsync(afterStep: 0));
        Assert.Equal([new CurvePoint(3, 0.4)], await grain.GetLossesAsync(afterStep: 2));  // a follower that read step 2 of the broken ring
        Assert.Empty(await grain.GetLossesAsync(afterStep: 3));
    }

    /// <summary>A run that diverged (or whose dataset is unusable) fails at once: a re-formed ring would redo the steps
    /// since the last checkpoint and fail the same way, five times over, before the run ended as failed.</summary>
    [Fact]
    public async Task A_failure_that_is_not_retryable_ends_a_scheduled_run_without_re_forming()
    {
        var storage = new GatedGrainStorage();
        await using var cluster = await StartWithoutWorkersAsync(storage, NewClock());
        var grain = await SeedRunningAsync(cluster, "diverged", Seed(storage), scheduled: true);

        await grain.ReportFailedAsync(rank: 0, attempt: 1, "loss is NaN at step 3 (rank 0 of 2)", retryable: false);

        var status = await grain.GetStatusAsync();
        Assert.Equal((ExperimentState.Failed, 1, 0), (status.State, status.Attempt, status.StepsRedone));
        Assert.Equal("rank 0: loss is NaN at step 3 (rank 0 of 2) (not retried: a new ring would fail the same way)", status.Error);
    }

    [Fact]
    public async Task An_unfinished_run_is_counted_only_by_the_node_its_coordinator_is_active_on()
    {
        var storage = new GatedGrainStorage();
        await using var cluster = await StartAsync(silo => AddStorage(silo, storage), NewClock());
        var grain = await SeedRunningAsync(cluster, "counted", Seed(storage));
        var silo = cluster.Silos[0].ServiceProvider;
        Assert.Equal(1, RunningExperiments(silo));  // counted on activation, from the record

        // Idle, it is collected (it would be reactivated on whichever node is called next): this node stops counting it.
        await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(0, RunningExperiments(silo));

        Assert.Equal(ExperimentState.Running, (await grain.GetStatusAsync()).State);
        Assert.Equal(1, RunningExperiments(silo));
    }

    /// <summary><c>segcluster.experiments{state="running"}</c> as one silo reports it.</summary>
    private static int RunningExperiments(IServiceProvider silo)
    {
        var factory = silo.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var running = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == SegCluster.Cluster.Telemetry.MetricNames.Experiments) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == SegCluster.Cluster.Telemetry.MetricNames.Labels.State && (string?)tag.Value == "running") running = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return running;
    }

    /// <summary>A run resumed under a new id from run1's checkpoint starts with the best that checkpoint records, whose
    /// weights are in run1's best.ckpt: its status points there until a validation of its own beats it (before, it showed no
    /// best checkpoint at all). The file is checked when statuses are made (at most once a second): once deleted, the status
    /// says so instead of pointing at it.</summary>
    [Fact]
    public async Task A_resumed_run_reports_the_earlier_best_checkpoint_until_its_own_beats_it_and_says_when_it_is_gone()
    {
        using var folder = new TempDirectory("segcluster-earlier-best-");
        var earlier = Path.Combine(folder.FullName, "run1", "best.ckpt");
        WriteBestCheckpoint(earlier, new BestValidation(TrainingSpec.MeanIoUMetric, 0.5, 4, earlier));
        var storage = new GatedGrainStorage();
        var time = NewClock();
        await using var cluster = await StartAsync(silo => AddStorage(silo, storage), time);
        var grain = await SeedRunningAsync(cluster, "run2", (id, record) =>
            Seed(storage)(id, record with { EarlierBest = new EarlierBest(TrainingSpec.MeanIoUMetric, 0.5, 4, earlier) }));

        var status = await grain.GetStatusAsync();
        Assert.Equal(new CheckpointRecord(4, earlier), status.BestCheckpoint);
        Assert.Null(Assert.IsType<EarlierBest>(status.EarlierBest).Problem);

        File.Delete(earlier);
        time.Advance(TimeSpan.FromSeconds(1));
        status = await grain.GetStatusAsync();
        Assert.Null(status.BestCheckpoint);
        Assert.Equal($"the best so far (miou 50.00 % at step 4) is the one the checkpoint this run resumed from records, and '{earlier}' no longer exists; " +
                     "this run writes a best.ckpt of its own when a validation beats it", status.EarlierBest?.Problem);

        // A validation of the run beats it: its own best.ckpt takes over.
        var own = new CheckpointRecord(6, "/ckpt/run2/best.ckpt");
        await grain.ReportValidationAsync(1, new ValidationPoint(6, Evaluation), own);
        status = await grain.GetStatusAsync();
        Assert.Equal((own, null), (status.BestCheckpoint, status.EarlierBest));
    }

    /// <summary>The earlier best's path comes from inside the resume checkpoint, not from the spec: a node with path roots
    /// holds it to them before reading anything, so the status neither points at a file outside them nor says whether one
    /// exists there (the same refusal before and after the file is deleted).</summary>
    [Fact]
    public async Task An_earlier_best_outside_the_path_roots_is_refused_the_same_whether_it_exists_or_not()
    {
        using var folder = new TempDirectory("segcluster-earlier-best-roots-");
        var earlier = Path.Combine(folder.FullName, "outside", "best.ckpt");
        WriteBestCheckpoint(earlier, new BestValidation(TrainingSpec.MeanIoUMetric, 0.5, 4, earlier));
        var roots = new SpecPathPolicy([Path.Combine(folder.FullName, "data")]);
        var storage = new GatedGrainStorage();
        var time = NewClock();
        await using var cluster = await StartAsync(silo =>
        {
            AddStorage(silo, storage);
            silo.Services.AddSingleton(roots);
        }, time);
        var grain = await SeedRunningAsync(cluster, "run2", (id, record) =>
            Seed(storage)(id, record with { EarlierBest = new EarlierBest(TrainingSpec.MeanIoUMetric, 0.5, 4, earlier) }));

        var refusal = roots.Refusal("the earlier best checkpoint", earlier);
        Assert.NotNull(refusal);
        var status = await grain.GetStatusAsync();
        Assert.Equal((null, refusal), (status.BestCheckpoint, status.EarlierBest?.Problem));

        File.Delete(earlier);
        time.Advance(TimeSpan.FromSeconds(1));  // checked again
        status = await grain.GetStatusAsync();
        Assert.Equal((null, refusal), (status.BestCheckpoint, status.EarlierBest?.Problem));
    }

    /// <summary>The earlier best's file is checked off the coordinator's thread: on storage that hangs (here a named pipe,
    /// whose open waits for a writer) a status waits a second for the check, then answers that the file has not answered,
    /// and a status while that check is still out answers at once. Before, the check ran inside the status on the grain's
    /// thread: the status hung, holding an Orleans scheduler thread, and no other call of the run was served. A status read
    /// concurrently within that second waits with the first (it answered at once that the file had not answered, although
    /// no check had had its second yet).</summary>
    [Fact]
    public async Task A_status_does_not_hang_on_an_earlier_best_whose_storage_hangs()
    {
        using var folder = new TempDirectory("segcluster-earlier-best-hung-");
        var earlier = Path.Combine(folder.FullName, "best.ckpt");
        Assert.True(mkfifo(earlier, Convert.ToUInt32("600", 8)) == 0, $"mkfifo {earlier} failed ({Marshal.GetLastPInvokeError()})");
        var storage = new GatedGrainStorage();
        var time = new WaitWatchingTimeProvider();
        await using var cluster = await StartAsync(silo => AddStorage(silo, storage), time);
        var grain = await SeedAsync(cluster, "run2", (id, record) =>
            Seed(storage)(id, record with { EarlierBest = new EarlierBest(TrainingSpec.MeanIoUMetric, 0.5, 4, earlier) }));
        try
        {
            var polled = grain.GetStatusAsync();
            Assert.Equal(TimeSpan.FromSeconds(1), await time.NextWaitAsync().WaitAsync(HangGuard));  // the status waits for the check
            var concurrent = grain.GetStatusAsync();
            Assert.Equal(TimeSpan.FromSeconds(1), await time.NextWaitAsync().WaitAsync(HangGuard));  // ... and so does a concurrent one
            Assert.False(concurrent.IsCompleted);
            Assert.True(await grain.ReportCheckpointAsync(1, new CheckpointRecord(2, "/ckpt/run2/step-000002.ckpt")).WaitAsync(HangGuard));
            time.Advance(TimeSpan.FromSeconds(1));
            var status = await polled.WaitAsync(HangGuard);
            Assert.Equal(status.EarlierBest?.Problem, (await concurrent.WaitAsync(HangGuard)).EarlierBest?.Problem);
            var again = await grain.GetStatusAsync().WaitAsync(HangGuard);  // the check is still out: no second wait

            var hung = $"the best so far (miou 50.00 % at step 4) is the one the checkpoint this run resumed from records, and '{earlier}' has not " +
                       "answered a check within 1 s (slow or hung storage); this run writes a best.ckpt of its own when a validation beats it";
            Assert.Equal((null, hung), (status.BestCheckpoint, status.EarlierBest?.Problem));
            Assert.Equal((null, hung), (again.BestCheckpoint, again.EarlierBest?.Problem));
            Assert.Equal(2, again.Checkpoint?.Step);
        }
        finally
        {
            // Lets the check's open return (it then fails to read a pipe as a file), so no thread is left waiting in it.
            await using var writer = await Task.Run(() => new FileStream(earlier, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)).WaitAsync(HangGuard);
        }
    }

    /// <summary>A tiny network's checkpoint recording <paramref name="best"/>, as rank 0 writes best.ckpt.</summary>
    private static void WriteBestCheckpoint(string path, BestValidation best)
    {
        var spec = new ExperimentSpec
        {
            Dataset = new DatasetSpec { NumClasses = 2, Height = 16, Width = 16 },
            Model = new ModelSpec { Name = "encoder-decoder", Width = 4, Norm = "none" },
        };
        using var model = SpecMapping.BuildModel(spec);
        using var trainer = new DataParallelTrainer(model, SpecMapping.Criterion(spec), SpecMapping.Optimizer(spec), new SingleRankReducer());
        CheckpointStore.Save(path, trainer, best: best);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_scheduled_start_refused_by_the_preflight_is_recorded_as_failed(bool scheduled)
    {
        await using var cluster = await StartAsync(silo => AddStorage(silo, new GatedGrainStorage()), NewClock());
        // The folder was there when the scheduler queued the run, and is gone when its turn comes.
        var missing = Path.Combine(Path.GetTempPath(), $"segcluster-gone-{Guid.NewGuid():N}");
        var spec = new ExperimentSpec { Workers = 2, Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = missing } };
        var grain = cluster.Client.GetGrain<IExperimentGrain>(scheduled ? "queued-run" : "direct-run");

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => grain.StartAsync(spec, ["w/0", "w/1"], scheduled));

        Assert.Contains("dataset.path", refused.Message);
        var status = await grain.GetStatusAsync();
        if (scheduled)
        {
            // Its submitter polls this id: it reads the refusal instead of a run that looks queued forever.
            Assert.Equal(ExperimentState.Failed, status.State);
            Assert.Contains($"'{missing}' is not an existing folder", status.Error);
        }
        else
        {
            Assert.Equal((ExperimentState.Pending, 0), (status.State, status.TotalSteps));  // its caller has the error; nothing recorded
        }
    }

    /// <summary>The start's preflight reads the dataset's classes.json, here a named pipe: it waits there until the test
    /// writes it, so the status is read while the start is inside its first await. Before, it said Pending and nothing
    /// more, which the scheduler read as a start never begun (and freed the gang the start then launched on).</summary>
    [Fact]
    public async Task A_start_reports_starting_while_its_preflight_reads_the_dataset()
    {
        await using var cluster = await StartAsync(silo => AddStorage(silo, new GatedGrainStorage()), NewClock());
        var dataset = Directory.CreateTempSubdirectory("segcluster-preflight-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dataset.FullName, "images"));
            Directory.CreateDirectory(Path.Combine(dataset.FullName, "masks"));
            var classes = Path.Combine(dataset.FullName, SegCluster.Vision.Data.Files.FolderDatasetReader.ClassesFile);
            Assert.True(mkfifo(classes, Convert.ToUInt32("600", 8)) == 0, $"mkfifo {classes} failed ({Marshal.GetLastPInvokeError()})");
            var spec = new ExperimentSpec { Workers = 2, Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = dataset.FullName } };
            var grain = cluster.Client.GetGrain<IExperimentGrain>("checking");

            var start = grain.StartAsync(spec, ["w/0", "w/1"], scheduled: true);
            // Opening a pipe to write waits for its reader: once open, the preflight is reading it.
            ExperimentStatus during;
            await using (var writer = await Task.Run(() => new FileStream(classes, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)).WaitAsync(TimeSpan.FromSeconds(30)))
            {
                during = await grain.GetStatusAsync();
                await writer.WriteAsync("[\"background\", \"object\"]"u8.ToArray());
            }
            var refused = await Assert.ThrowsAsync<ArgumentException>(() => start);  // an empty folder dataset: refused, recorded as failed
            var after = await grain.GetStatusAsync();

            Assert.Equal((ExperimentState.Pending, true), (during.State, during.Starting));
            Assert.Contains("dataset.path: split", refused.Message);  // classes.json was read; the splits were not there
            Assert.Equal((ExperimentState.Failed, false), (after.State, after.Starting));
        }
        finally { dataset.Delete(recursive: true); }
    }

    /// <summary>The coordinator's clock: moves only when the test advances it, from a fixed instant.</summary>
    private static FakeTimeProvider NewClock() => new(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));

    [DllImport("libc", SetLastError = true)] private static extern int mkfifo(string path, uint mode);

    /// <summary>Two steps of both ranks, 4 images each, 2 s apart: 16 images in 2 s.</summary>
    private static async Task StepsAsync(IExperimentGrain grain, FakeTimeProvider time, int attempt = 1)
    {
        for (var step = 1; step <= 2; step++)
        {
            if (step > 1) time.Advance(TimeSpan.FromSeconds(2));
            await grain.ReportStepAsync(Step(rank: 0, step, loss: 1.0 / step, attempt));
            await grain.ReportStepAsync(Step(rank: 1, step, loss: 1.0 / step, attempt));
        }
    }

    private static StepReport Step(int rank, int step, double loss, int attempt = 1) =>
        new(rank, step, loss, Images: 4, 0, 0, 0, 0, 0) { Attempt = attempt };

    private static async Task<IExperimentGrain> SeedRunningAsync(InProcessTestCluster cluster, string id, Func<GrainId, ExperimentRecord, Task> seed, bool scheduled = false)
    {
        var grain = await SeedAsync(cluster, id, seed, scheduled);
        var status = await grain.GetStatusAsync();
        Assert.Equal((ExperimentState.Running, 2), (status.State, status.Workers));  // the grain read the seeded record
        return grain;
    }

    /// <summary>Seeds the record of a running two-rank ring on w/0 and w/1, at attempt 1; the grain has not read it yet.</summary>
    private static async Task<IExperimentGrain> SeedAsync(InProcessTestCluster cluster, string id, Func<GrainId, ExperimentRecord, Task> seed, bool scheduled = false)
    {
        var spec = new ExperimentSpec { Name = id, Workers = 2, Training = new TrainingSpec { Steps = 2 } };
        await seed(GrainId.Create("experiment", id), new ExperimentRecord { Spec = spec, Workers = ["w/0", "w/1"], State = ExperimentState.Running, Attempt = 1, Scheduled = scheduled });
        return cluster.Client.GetGrain<IExperimentGrain>(id);
    }

    private static Func<GrainId, ExperimentRecord, Task> Seed(GatedGrainStorage storage) => (grainId, record) =>
    {
        storage.Seed(StateName, grainId, record);
        return Task.CompletedTask;
    };

    private static void AddStorage(ISiloBuilder silo, GatedGrainStorage storage)
    {
        silo.Services.AddKeyedSingleton<IGrainStorage>(ClusterStorage.Experiments, storage);
        silo.AddMemoryGrainStorage(ClusterStorage.Scheduler);  // a finishing experiment releases its workers there
    }

    /// <summary>A silo whose workers run nothing: the ranks' reports come from the test.</summary>
    /// <param name="configure">More silo set-up (a grain-call filter); null = none.</param>
    private static Task<InProcessTestCluster> StartWithoutWorkersAsync(GatedGrainStorage storage, TimeProvider time, Action<ISiloBuilder>? configure = null) =>
        StartAsync(silo =>
        {
            AddStorage(silo, storage);
            silo.Services.PostConfigure<Orleans.Configuration.GrainTypeOptions>(o => o.Classes.Remove(typeof(WorkerGrain)));
            configure?.Invoke(silo);
        }, time);

    private static async Task<InProcessTestCluster> StartAsync(Action<ISiloBuilder> storage, TimeProvider time)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = "segcluster-experiment-tests";
        builder.ConfigureSilo((_, silo) =>
        {
            storage(silo);
            silo.Services.AddKeyedSingleton(ExperimentGrain.Clock, time);  // before the default one
            silo.Services.AddSegClusterGrainDependencies();
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
