using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using StackExchange.Redis;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>
/// The sweep coordinator's silo is killed mid-sweep; a new silo on the same grain storage (Redis, or files) takes the sweep
/// over on the next call: no finished trial runs again, no finished result is lost, a running trial whose experiment
/// completed or still runs is followed as it is, other interrupted trials run again.
/// </summary>
public sealed class SweepResumeTests
{
    private static double Loss(int trial, int step) => 1 + trial + 1.0 / step;

    private static readonly SweepSpec Sweep = new()
    {
        Name = "resume", TrialSteps = 3, MaxConcurrentTrials = 2,
        Base = new ExperimentSpec { Training = new TrainingSpec { BatchPerWorker = 2 }, Dataset = new DatasetSpec { TrainCount = 16 } },
        Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Grid, Values = ["0", "1", "2", "3", "4", "5"] }],
    };

    /// <param name="storage">"redis": a cluster's nodes; "files": an embedded node with Node:StateDirectory (`sweep --resume`).</param>
    [Theory]
    [InlineData("redis")]
    [InlineData("files")]
    public async Task A_new_silo_resumes_the_sweep_from_its_storage_without_rerunning_finished_trials(string storage)
    {
        await using var redis = storage == "redis" ? await RedisServer.StartAsync() : null;
        using var folder = new TempDirectory("segcluster-sweep-state-");
        void Storage(ISiloBuilder silo)
        {
            if (redis is not null) silo.AddRedisGrainStorage(ClusterStorage.Sweeps, o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis.Address));
            else silo.AddSegClusterFileGrainStorage(folder.FullName);
        }
        var sweep = Sweep;

        // First coordinator: trials 0–2 finish, 3 and 4 are running (held) when its silo is killed.
        var first = new ScriptedTrialRunner(Loss) { Hold = [3, 4] };
        IReadOnlyList<TrialResult> before;
        await using (var cluster = await SweepClusters.StartAsync(first, Storage))
        {
            var grain = cluster.Client.GetGrain<ISweepGrain>("resume-1");
            await grain.StartAsync(sweep, SweepClusters.Workers(2));
            await first.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
            before = (await grain.GetStatusAsync()).Trials;
            await cluster.KillSiloAsync(cluster.Silos[0]);  // no graceful deactivation: the node is gone
        }
        Assert.Equal([0, 1, 2], before.Where(t => t.State == TrialState.Completed).Select(t => t.Index));
        Assert.Equal([3, 4], before.Where(t => t.State == TrialState.Running).Select(t => t.Index));

        // Second coordinator on a fresh silo: the status call activates it from Redis and it resumes. Its runner knows no
        // experiment of the first (none survived: StateOfAsync answers null), so trials 3 and 4 are launched again.
        var second = new ScriptedTrialRunner(Loss);
        await using (var cluster = await SweepClusters.StartAsync(second, Storage))
        {
            var status = await SweepClusters.UntilEndedAsync(cluster.Client.GetGrain<ISweepGrain>("resume-1"));

            Assert.Equal(SweepState.Completed, status.State);
            Assert.Equal([3, 4, 5], second.Launches.Select(l => l.Index).Order());
            Assert.Empty(second.Follows);
            Assert.Equal(["resume-1/resume-t003/a1", "resume-1/resume-t004/a1"], second.Abandoned.Order());
            Assert.All(status.Trials, t => Assert.Equal(TrialState.Completed, t.State));
            foreach (var finished in before.Where(t => t.State == TrialState.Completed))
            {
                var now = status.Trials[finished.Index];
                Assert.Equal((1, finished.Metric, finished.FinishedAt), (now.Attempt, now.Metric, now.FinishedAt));
            }
            Assert.Equal([2, 2, 1], status.Trials.Skip(3).Select(t => t.Attempt));
            Assert.Equal(Loss(5, 3), status.Trials[5].FinalLoss);
        }
    }

    /// <summary>Ray Tune's Tuner.restore: a cancelled sweep runs its cancelled trials again from scratch, its failed ones
    /// only when asked (--retry-failed), and never a finished one; resuming a sweep with nothing left changes nothing.</summary>
    [Fact]
    public async Task A_cancelled_sweep_resumes_its_cancelled_trials_and_on_request_its_failed_ones_keeping_finished_results()
    {
        // Trial 1 fails on its first attempt; 2 and 3 are held (running) when the sweep is cancelled, 4 and 5 still pending.
        var runner = new ScriptedTrialRunner(Loss) { Hold = [2, 3], Failure = l => l.Index == 1 && l.ExperimentId.EndsWith("/a1") ? [] : null };
        await using var cluster = await SweepClusters.StartAsync(runner);
        var grain = cluster.Client.GetGrain<ISweepGrain>("restore-1");
        await Assert.ThrowsAsync<InvalidOperationException>(() => grain.ResumeAsync(retryFailed: false));  // nothing recorded yet
        await grain.StartAsync(Sweep, SweepClusters.Workers(2));
        await runner.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await grain.CancelAsync();
        var cancelled = await grain.GetStatusAsync();
        Assert.Equal(SweepState.Cancelled, cancelled.State);
        Assert.Equal([TrialState.Completed, TrialState.Failed, TrialState.Cancelled, TrialState.Cancelled, TrialState.Cancelled, TrialState.Cancelled],
            cancelled.Trials.Select(t => t.State));
        runner.Released.SetResult();

        var resumed = await grain.ResumeAsync(retryFailed: false);
        Assert.Equal(SweepState.Running, resumed.State);
        var status = await SweepClusters.UntilEndedAsync(grain);
        Assert.Equal(SweepState.Completed, status.State);
        Assert.Equal([2, 3, 4, 5], runner.Launches.Skip(4).Select(l => l.Index).Order());
        Assert.Equal(TrialState.Failed, status.Trials[1].State);
        Assert.All(status.Trials.Skip(2), t => Assert.Equal(TrialState.Completed, t.State));
        Assert.Equal([2, 2, 1, 1], status.Trials.Skip(2).Select(t => t.Attempt));
        static object Finished(TrialResult t) => (t.State, t.Attempt, t.Metric, t.FinishedAt);
        Assert.Equal(Finished(cancelled.Trials[0]), Finished(status.Trials[0]));  // the finished trial is untouched

        await grain.ResumeAsync(retryFailed: true);
        status = await SweepClusters.UntilEndedAsync(grain);
        Assert.Equal(1, Assert.Single(runner.Launches.Skip(8)).Index);
        Assert.Equal((TrialState.Completed, 2), (status.Trials[1].State, status.Trials[1].Attempt));
        Assert.Contains("attempt 1 failed (scripted failure of restore-1/resume-t001/a1); launched again (--retry-failed)", status.Trials[1].Reason);

        var unchanged = await grain.ResumeAsync(retryFailed: true);
        Assert.Equal(SweepState.Completed, unchanged.State);
        Assert.Equal(9, runner.Launches.Count);
    }

    /// <summary>Ray Tune counts max_failures after a restore: a trial that used up its automatic retries and is launched
    /// again by --retry-failed gets them afresh, so one more failure is retried instead of failing the trial for good.</summary>
    [Fact]
    public async Task A_failed_trial_retried_on_request_gets_its_max_failures_retries_afresh()
    {
        // Trial 0 fails its first three attempts: a1 and its automatic retry a2 under max_failures 1, then a3 after the resume.
        var runner = new ScriptedTrialRunner(Loss) { Failure = l => l.Index == 0 && (l.ExperimentId.EndsWith("/a1") || l.ExperimentId.EndsWith("/a2") || l.ExperimentId.EndsWith("/a3")) ? [] : null };
        await using var cluster = await SweepClusters.StartAsync(runner);
        var grain = cluster.Client.GetGrain<ISweepGrain>("retry-budget-1");
        await grain.StartAsync(Sweep with { MaxFailures = 1, Axes = [Sweep.Axes[0] with { Values = ["0", "1"] }] }, SweepClusters.Workers(2));
        var first = await SweepClusters.UntilEndedAsync(grain);
        Assert.Equal((TrialState.Failed, 2, 1), (first.Trials[0].State, first.Trials[0].Attempt, first.Trials[0].Failures));

        await grain.ResumeAsync(retryFailed: true);
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.Equal((TrialState.Completed, 4, 1), (status.Trials[0].State, status.Trials[0].Attempt, status.Trials[0].Failures));
        Assert.Equal(4, runner.Launches.Count(l => l.Index == 0));
    }

    /// <summary>A trial's result is its own attempt's: trial 0 fails with loss 0.1 (max_failures 0) beside a healthy trial 1
    /// (0.5); launched again by --retry-failed it diverges (NaN) and completes. While it runs it shows no result of the
    /// failed attempt (no loss, no finish time: it gave negative seconds), and it ends with no metric, so trial 1 is the
    /// best. Before: the NaN final loss was replaced by the failed attempt's 0.1, which became its metric, ranked best.</summary>
    [Fact]
    public async Task A_retried_trial_that_diverges_keeps_no_result_of_its_failed_attempt_and_ranks_nowhere()
    {
        var diverged = false;
        var runner = new ScriptedTrialRunner((trial, _) => trial == 1 ? 0.5 : diverged ? double.NaN : 0.1)
        {
            Hold = [0], Failure = l => l.Index == 0 && l.ExperimentId.EndsWith("/a1") ? [] : null,
        };
        await using var cluster = await SweepClusters.StartAsync(runner);
        var grain = cluster.Client.GetGrain<ISweepGrain>("diverged-1");
        await grain.StartAsync(Sweep with { Metric = SweepSpec.Loss, Mode = SweepSpec.Min, Axes = [Sweep.Axes[0] with { Values = ["0", "1"] }] }, SweepClusters.Workers(2));
        var failed = (await SweepClusters.UntilEndedAsync(grain)).Trials[0];
        Assert.Equal((TrialState.Failed, (double?)0.1), (failed.State, failed.FinalLoss));

        diverged = true;
        await grain.ResumeAsync(retryFailed: true);
        await runner.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));  // attempt 2 at its first step
        var running = (await grain.GetStatusAsync()).Trials[0];
        Assert.Equal((TrialState.Running, 2), (running.State, running.Attempt));
        Assert.Equal((null, null, null), (running.FinalLoss, running.FinishedAt, running.Seconds));
        Assert.Equal(double.NaN, running.Metric);  // the loss this attempt reported
        runner.Released.SetResult();
        var status = await SweepClusters.UntilEndedAsync(grain);

        var retried = status.Trials[0];
        Assert.Equal((TrialState.Completed, (double?)null, (double?)null), (retried.State, retried.Metric, retried.FinalLoss));
        Assert.Equal(1, status.Best!.Index);
    }

    /// <summary>--retry-failed while the sweep still runs (its driver resumed it on activation): the failed trials join the
    /// driver's queue instead of waiting for a second resume.</summary>
    [Fact]
    public async Task A_running_sweep_asked_to_retry_its_failed_trials_runs_them_before_it_ends()
    {
        var runner = new ScriptedTrialRunner(Loss) { Hold = [1], Failure = l => l.Index == 0 && l.ExperimentId.EndsWith("/a1") ? [] : null };
        await using var cluster = await SweepClusters.StartAsync(runner);
        var grain = cluster.Client.GetGrain<ISweepGrain>("retry-1");
        await grain.StartAsync(Sweep with { MaxConcurrentTrials = 1, Axes = [Sweep.Axes[0] with { Values = ["0", "1"] }] }, SweepClusters.Workers(1));
        await runner.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(TrialState.Failed, (await grain.GetStatusAsync()).Trials[0].State);

        var running = await grain.ResumeAsync(retryFailed: true);
        Assert.Equal((SweepState.Running, TrialState.Pending), (running.State, running.Trials[0].State));
        runner.Released.SetResult();
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.All(status.Trials, t => Assert.Equal(TrialState.Completed, t.State));
        Assert.Equal([0, 1, 0], runner.Launches.Select(l => l.Index));
    }

    /// <summary>--retry-failed while another trial runs and a slot is free: the failed trial starts again at once. Before, the
    /// driver slept until a running trial ended or recorded a rung, so it waited for held trial 1.</summary>
    [Fact]
    public async Task A_failed_trial_retried_while_another_runs_starts_in_a_free_slot_at_once()
    {
        var runner = new ScriptedTrialRunner(Loss) { Hold = [1], Failure = l => l.Index == 0 && l.ExperimentId.EndsWith("/a1") ? [] : null };
        await using var cluster = await SweepClusters.StartAsync(runner);
        var grain = cluster.Client.GetGrain<ISweepGrain>("retry-free-slot");
        await grain.StartAsync(Sweep with { MaxConcurrentTrials = 2, Axes = [Sweep.Axes[0] with { Values = ["0", "1"] }] }, SweepClusters.Workers(2));
        await runner.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(TrialState.Failed, (await grain.GetStatusAsync()).Trials[0].State);

        await grain.ResumeAsync(retryFailed: true);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (runner.Launches.Count < 3 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal([0, 0, 1], runner.Launches.Select(l => l.Index).Order());
        Assert.NotEqual(TaskStatus.RanToCompletion, runner.Released.Task.Status);  // trial 1 still held: the retry did not wait for it

        runner.Released.SetResult();
        var status = await SweepClusters.UntilEndedAsync(grain);
        Assert.All(status.Trials, t => Assert.Equal(TrialState.Completed, t.State));
    }

    /// <summary>--retry-failed while the driver is saving: trial 0 failed (max_failures 0) and the driver's save of it is held
    /// in flight when the resume sets it pending. The resume's save waits for the driver's, so the store ends pending, as
    /// the coordinator has it, when the resume returns. Before: both ran at once, the resume's pending landed first and the
    /// driver's failed after it, so a coordinator lost then would not have run the trial again.</summary>
    [Fact]
    public async Task A_resume_while_the_driver_saves_stores_its_trials_after_the_drivers_save()
    {
        TaskCompletionSource Signal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
        var (failedHeld, release, failedStored, pendingSent, pendingStored, storeChecked) = (Signal(), Signal(), Signal(), Signal(), Signal(), Signal());
        var runner = new ScriptedTrialRunner(Loss) { Hold = [1], Failure = l => l.Index == 0 && l.ExperimentId.EndsWith("/a1") ? [] : null };
        await using var cluster = await SweepClusters.StartAsync(runner, configure: silo => silo.AddOutgoingGrainCallFilter(async call =>
        {
            var trial = call.InterfaceMethod?.Name == nameof(ISweepTrialGrain.SaveAsync) ? call.Request.GetArgument(0) as TrialResult : null;
            if (trial is { Index: 0, State: TrialState.Failed })
            {
                failedHeld.TrySetResult();
                await release.Task;
                if (pendingSent.Task.IsCompleted) await pendingStored.Task;  // a save of the newer state sent meanwhile lands first
                await call.Invoke();
                failedStored.TrySetResult();
                return;
            }
            if (trial is { Index: 0, State: TrialState.Running, Attempt: 2 }) await storeChecked.Task;  // the retry's launch, woken by the resume
            if (trial is { Index: 0, State: TrialState.Pending } && !release.Task.IsCompleted) pendingSent.TrySetResult();
            await call.Invoke();
            if (trial is { Index: 0, State: TrialState.Pending }) pendingStored.TrySetResult();
        }));
        var grain = cluster.Client.GetGrain<ISweepGrain>("save-order-1");
        await grain.StartAsync(Sweep with { Axes = [Sweep.Axes[0] with { Values = ["0", "1"] }] }, SweepClusters.Workers(2));
        await failedHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var resumed = grain.ResumeAsync(retryFailed: true);
        await SweepClusters.UntilAsync(async () => (await grain.GetStatusAsync()).Trials[0].State == TrialState.Pending, "trial 0 set pending by the resume");
        release.SetResult();
        await resumed.WaitAsync(TimeSpan.FromSeconds(30));
        await failedStored.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(TrialState.Pending, (await cluster.Client.GetGrain<ISweepTrialGrain>(ISweepTrialGrain.Key("save-order-1", 0)).GetAsync())?.State);
        storeChecked.SetResult();
        runner.Released.SetResult();
        var status = await SweepClusters.UntilEndedAsync(grain);
        Assert.Equal([(TrialState.Completed, 2), (TrialState.Completed, 1)], status.Trials.Select(t => (t.State, t.Attempt)));
    }

    /// <summary>A process killed while its Ctrl-C was still stopping trials leaves the sweep's record running and some
    /// trials' own entries cancelled: the activation that takes it over resumes the running sweep, and --resume must still
    /// run those cancelled trials (once each), not end the sweep "completed" without them.</summary>
    [Fact]
    public async Task Resuming_a_running_sweep_runs_the_trials_a_cancel_ended_once_each()
    {
        var runner = new ScriptedTrialRunner(Loss);
        using var folder = new TempDirectory("segcluster-sweep-state-");  // the storage `sweep --resume` reads
        await using var cluster = await SweepClusters.StartAsync(runner, silo => silo.AddSegClusterFileGrainStorage(folder.FullName));
        var storage = cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(ClusterStorage.Sweeps);
        var finished = new TrialResult { Index = 0, Name = "resume-t000", Parameters = [new AxisValue("seed", "0")], State = TrialState.Completed, Attempt = 1, Metric = 0.5 };
        TrialResult Cancelled(int i) => new() { Index = i, Name = $"resume-t00{i}", Parameters = [new AxisValue("seed", $"{i}")], State = TrialState.Cancelled, Attempt = 1, Reason = "the sweep was cancelled" };
        List<TrialResult> trials = [finished, .. Enumerable.Range(1, 5).Select(i => Cancelled(i) with { State = TrialState.Pending, Attempt = 0, Reason = null })];
        await storage.WriteStateAsync("sweep", GrainId.Create("sweep", "killed-1"), new GrainState<SweepRecord>(new SweepRecord
        {
            Spec = Sweep, Workers = [.. SweepClusters.Workers(2)], State = SweepState.Running, Trials = trials,
        }));
        foreach (var i in new[] { 1, 2 })  // ended by the cancel and saved, the record not yet written again
            await storage.WriteStateAsync("trial", GrainId.Create("sweeptrial", ISweepTrialGrain.Key("killed-1", i)),
                new GrainState<SweepTrialRecord>(new SweepTrialRecord { Result = Cancelled(i) }));

        var grain = cluster.Client.GetGrain<ISweepGrain>("killed-1");
        await grain.ResumeAsync(retryFailed: false);
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.All(status.Trials, t => Assert.Equal(TrialState.Completed, t.State));
        Assert.Equal([1, 2, 3, 4, 5], runner.Launches.Select(l => l.Index).Order());
        Assert.Equal((1, 0.5), (status.Trials[0].Attempt, status.Trials[0].Metric));
    }

    /// <summary>Ray Tune restores a trial from its checkpoint: a trial launched again continues from its last attempt's
    /// last checkpoint (training.resume_from), and one whose earlier attempt wrote none starts from scratch.</summary>
    [Fact]
    public async Task A_trial_launched_again_continues_from_its_last_attempts_checkpoint()
    {
        // Trials 0 and 1 fail on their first attempt; only trial 0's first attempt recorded a checkpoint (step 2).
        var runner = new ScriptedTrialRunner(Loss) { Failure = l => l.Index < 2 && l.ExperimentId.EndsWith("/a1") ? [] : null };
        runner.Checkpoints["resume-ckpt-1/resume-t000/a1"] = new CheckpointRecord(2, "/ckpt/resume-ckpt-1/resume-t000/a1/step-000002.ckpt");
        await using var cluster = await SweepClusters.StartAsync(runner);
        var grain = cluster.Client.GetGrain<ISweepGrain>("resume-ckpt-1");
        await grain.StartAsync(Sweep with { MaxFailures = 1, Axes = [Sweep.Axes[0] with { Values = ["0", "1", "2"] }] }, SweepClusters.Workers(2));
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.All(status.Trials, t => Assert.Equal(TrialState.Completed, t.State));
        var again = runner.Launches.Where(l => l.ExperimentId.EndsWith("/a2")).ToDictionary(l => l.Index, l => l.Spec.Training.ResumeFrom);
        Assert.Equal("/ckpt/resume-ckpt-1/resume-t000/a1/step-000002.ckpt", again[0]);
        Assert.Null(again[1]);
        Assert.Equal((2, (int?)null, (int?)null), (status.Trials[0].ResumedFromStep, status.Trials[1].ResumedFromStep, status.Trials[2].ResumedFromStep));
        Assert.All(runner.Launches.Where(l => l.ExperimentId.EndsWith("/a1")), l => Assert.Null(l.Spec.Training.ResumeFrom));
    }

    /// <summary>Two failures in a row keep the trial's checkpoint: attempt 1 checkpoints at step 2 and fails at step 3;
    /// attempt 2 continues from it and fails before it writes one of its own; attempt 3 continues from attempt 1's
    /// checkpoint again. Before: only attempt 2's experiment was asked, had none, and attempt 3 started from scratch.</summary>
    [Fact]
    public async Task A_trial_that_fails_again_before_its_own_checkpoint_continues_from_the_one_it_started_from()
    {
        var runner = new ScriptedTrialRunner(Loss) { FailAt = 3, Failure = l => l.Index == 0 && !l.ExperimentId.EndsWith("/a3") ? [] : null };
        const string path = "/ckpt/resume-ckpt-2/resume-t000/a1/step-000002.ckpt";
        runner.Checkpoints["resume-ckpt-2/resume-t000/a1"] = new CheckpointRecord(2, path);
        await using var cluster = await SweepClusters.StartAsync(runner);
        var grain = cluster.Client.GetGrain<ISweepGrain>("resume-ckpt-2");
        await grain.StartAsync(Sweep with { TrialSteps = 4, MaxFailures = 2, Axes = [Sweep.Axes[0] with { Values = ["0"] }] }, SweepClusters.Workers(1));
        var trial = (await SweepClusters.UntilEndedAsync(grain)).Trials[0];

        Assert.Equal([null, path, path], runner.Launches.Select(l => l.Spec.Training.ResumeFrom));
        Assert.Equal((TrialState.Completed, 3, 4), (trial.State, trial.Attempt, trial.Steps));
        Assert.Equal(((int?)2, path), (trial.ResumedFromStep, trial.ResumedFromPath));
    }

    /// <summary>Ray Tune reports a trial's best checkpoint: a trial retried from its failed attempt's checkpoint records the
    /// best checkpoint its last attempt's experiment names, here the failed attempt's best.ckpt, which the retry (continuing
    /// with the best that checkpoint records) did not beat. Before, trials recorded no best checkpoint.</summary>
    [Fact]
    public async Task A_trial_retried_from_its_checkpoint_records_the_best_checkpoint_its_last_attempt_names()
    {
        var runner = new ScriptedTrialRunner(Loss) { FailAt = 3, Failure = l => l.ExperimentId.EndsWith("/a1") ? [] : null };
        runner.Checkpoints["resume-best-1/resume-t000/a1"] = new CheckpointRecord(2, "/ckpt/resume-best-1/resume-t000/a1/step-000002.ckpt");
        var earlierBest = new CheckpointRecord(2, "/ckpt/resume-best-1/resume-t000/a1/best.ckpt");
        runner.BestCheckpoints["resume-best-1/resume-t000/a2"] = earlierBest;
        await using var cluster = await SweepClusters.StartAsync(runner);
        var grain = cluster.Client.GetGrain<ISweepGrain>("resume-best-1");
        await grain.StartAsync(Sweep with { TrialSteps = 4, MaxFailures = 1, Axes = [Sweep.Axes[0] with { Values = ["0"] }] }, SweepClusters.Workers(1));
        var trial = (await SweepClusters.UntilEndedAsync(grain)).Trials[0];

        Assert.Equal((TrialState.Completed, 2), (trial.State, trial.Attempt));
        Assert.Equal(earlierBest, trial.BestCheckpoint);
    }

    private static readonly SearchSpec AshaAt1And3 = new() { Kind = SearchSpec.Asha, MinBudget = 1, ReductionFactor = 3, Rungs = 2 };

    /// <summary>ASHA after a retry from a checkpoint (rungs 10 / 30, η = 3): trial 0's first attempt passes both rungs with
    /// loss 1, checkpoints at step 36 and fails at 37; its second attempt continues from 36 with loss 0.1. Its rungs keep the
    /// first attempt's values and 0.1 is recorded at none, so trial 1 (0.5 at its steps 10 and 30, held at step 1 until
    /// trial 0's last step) is judged against 1 and completes. Before: the relaunch cleared trial 0's rungs, its steps 37
    /// and 38 recorded 0.1 at rungs 30 and 10, and trial 1 was stopped at step 10.</summary>
    [Fact]
    public async Task Asha_keeps_the_rung_values_of_a_trial_retried_from_its_checkpoint_and_judges_it_only_past_it()
    {
        var lastStep = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        double Loss(int trial, int step)
        {
            if (trial == 0 && step == 40) lastStep.TrySetResult();
            return trial == 1 ? 0.5 : step <= 36 ? 1 : 0.1;
        }
        var runner = new ScriptedTrialRunner(Loss) { Hold = [1], FailAt = 37, Failure = l => l.Index == 0 && l.ExperimentId.EndsWith("/a1") ? [] : null };
        runner.Checkpoints["asha-retry-1/resume-t000/a1"] = new CheckpointRecord(36, "/ckpt/asha-retry-1/resume-t000/a1/step-000036.ckpt");
        await using var cluster = await SweepClusters.StartAsync(runner);
        var grain = cluster.Client.GetGrain<ISweepGrain>("asha-retry-1");
        await grain.StartAsync(Sweep with
        {
            TrialSteps = 40, MaxFailures = 1, Metric = SweepSpec.Loss, Mode = SweepSpec.Min, Axes = [Sweep.Axes[0] with { Values = ["0", "1"] }],
            Search = AshaAt1And3 with { MinBudget = 10 },
        }, SweepClusters.Workers(2));
        await lastStep.Task.WaitAsync(TimeSpan.FromSeconds(30));
        runner.Released.SetResult();
        var status = await SweepClusters.UntilEndedAsync(grain);

        var (retried, judged) = (status.Trials[0], status.Trials[1]);
        Assert.Equal((TrialState.Completed, 40), (judged.State, judged.Steps));
        Assert.Equal([new CurvePoint(10, 0.5), new CurvePoint(30, 0.5)], judged.Rungs);
        Assert.Equal((TrialState.Completed, 2, (int?)36), (retried.State, retried.Attempt, retried.ResumedFromStep));
        Assert.Equal([new CurvePoint(10, 1), new CurvePoint(30, 1)], retried.Rungs);
    }

    /// <summary>A running trial's rung values are saved when recorded, and a coordinator that takes the sweep over launches
    /// the trial again from its checkpoint with them: trial 0 records rung 1 (loss 5 at step 1) and is held when the silo is
    /// killed; the next coordinator relaunches it from its checkpoint at step 1, and from step 2 on its loss is 1. Its rungs:
    /// the first attempt's 5 at rung 1, 1 at rung 3. Before: the rung was saved only when the trial ended (never, here) and
    /// the relaunch cleared it, so step 2's loss filled rung 1.</summary>
    [Fact]
    public async Task A_coordinator_taking_over_relaunches_a_running_trial_with_the_rung_values_saved_while_it_ran()
    {
        using var folder = new TempDirectory("segcluster-sweep-state-");
        void Storage(ISiloBuilder silo) => silo.AddSegClusterFileGrainStorage(folder.FullName);
        static double Loss(int trial, int step) => step == 1 ? 5 : 1;
        var sweep = Sweep with { TrialSteps = 9, Metric = SweepSpec.Loss, Mode = SweepSpec.Min, Axes = [Sweep.Axes[0] with { Values = ["0"] }], Search = AshaAt1And3 };

        var first = new ScriptedTrialRunner(Loss) { Hold = [0] };
        await using (var cluster = await SweepClusters.StartAsync(first, Storage))
        {
            await cluster.Client.GetGrain<ISweepGrain>("rungs-1").StartAsync(sweep, SweepClusters.Workers(1));
            await first.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var saved = cluster.Client.GetGrain<ISweepTrialGrain>(ISweepTrialGrain.Key("rungs-1", 0));
            await SweepClusters.UntilAsync(async () => (await saved.GetAsync())?.Rungs.Count == 1, "trial 0's rung-1 value saved while it runs");
            await cluster.KillSiloAsync(cluster.Silos[0]);
        }

        var second = new ScriptedTrialRunner(Loss);
        second.Checkpoints["rungs-1/resume-t000/a1"] = new CheckpointRecord(1, "/ckpt/rungs-1/resume-t000/a1/step-000001.ckpt");
        await using (var cluster = await SweepClusters.StartAsync(second, Storage))
        {
            var trial = (await SweepClusters.UntilEndedAsync(cluster.Client.GetGrain<ISweepGrain>("rungs-1"))).Trials[0];
            Assert.Equal((TrialState.Completed, 2, (int?)1), (trial.State, trial.Attempt, trial.ResumedFromStep));
            Assert.Equal([new CurvePoint(1, 5), new CurvePoint(3, 1)], trial.Rungs);
        }
    }

    /// <summary>Starts <paramref name="sweep"/> as <paramref name="id"/> on a silo over <paramref name="folder"/>'s files, waits
    /// until <paramref name="first"/> holds its trials (and <paramref name="saved"/> holds), then kills the silo: a coordinator
    /// lost while its trials' experiments go on without it.</summary>
    private static async Task KillCoordinatorWhileHeldAsync(TempDirectory folder, string id, SweepSpec sweep, int workers, ScriptedTrialRunner first,
        Func<IClusterClient, Task<bool>>? saved = null)
    {
        await using var cluster = await SweepClusters.StartAsync(first, silo => silo.AddSegClusterFileGrainStorage(folder.FullName));
        await cluster.Client.GetGrain<ISweepGrain>(id).StartAsync(sweep, SweepClusters.Workers(workers));
        await first.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
        if (saved is not null) await SweepClusters.UntilAsync(() => saved(cluster.Client), "the held trials' progress saved");
        await cluster.KillSiloAsync(cluster.Silos[0]);
    }

    /// <summary>Trial 0's experiment completed while the sweep had no coordinator (trial 1's is gone): the coordinator taking
    /// over records trial 0 completed with that experiment's result, attempt 1, and launches only trial 1 again. Before: it
    /// cancelled the completed experiment and trained trial 0 again as attempt 2, a trial run twice.</summary>
    [Fact]
    public async Task A_coordinator_taking_over_records_a_trial_whose_experiment_completed_meanwhile_without_running_it_again()
    {
        using var folder = new TempDirectory("segcluster-sweep-state-");
        var sweep = Sweep with { Axes = [Sweep.Axes[0] with { Values = ["0", "1"] }] };
        await KillCoordinatorWhileHeldAsync(folder, "adopt-done-1", sweep, 2, new ScriptedTrialRunner(Loss) { Hold = [0, 1] });

        var second = new ScriptedTrialRunner(Loss);
        second.Surviving["adopt-done-1/resume-t000/a1"] = ExperimentState.Completed;
        await using var cluster = await SweepClusters.StartAsync(second, silo => silo.AddSegClusterFileGrainStorage(folder.FullName));
        var status = await SweepClusters.UntilEndedAsync(cluster.Client.GetGrain<ISweepGrain>("adopt-done-1"));

        Assert.Equal(["adopt-done-1/resume-t001/a2"], second.Launches.Select(l => l.ExperimentId));
        Assert.Equal(["adopt-done-1/resume-t001/a1"], second.Abandoned);
        Assert.Equal([("adopt-done-1/resume-t000/a1", 0)], second.Follows.Select(f => (f.Launch.ExperimentId, f.FromStep)));
        var trial = status.Trials[0];
        Assert.Equal((TrialState.Completed, 1, "adopt-done-1/resume-t000/a1"), (trial.State, trial.Attempt, trial.ExperimentId));
        Assert.Equal(((double?)Loss(0, 3), (double?)(1 - Loss(0, 3) / 10), 3), (trial.FinalLoss, trial.MeanIoU, trial.Steps));
        Assert.Equal((TrialState.Completed, 2), (status.Trials[1].State, status.Trials[1].Attempt));
    }

    /// <summary>Ranked by loss, a trial whose experiment completed while no coordinator followed it is launched again: the
    /// experiment's losses live in its activation's memory only, so one reactivated after the outage has none, and the
    /// adopted trial would end without a metric. (With mIoU its stored evaluation ranks it: the test above.)</summary>
    [Fact]
    public async Task A_coordinator_taking_over_a_sweep_ranked_by_loss_launches_a_completed_trial_again()
    {
        using var folder = new TempDirectory("segcluster-sweep-state-");
        var sweep = Sweep with { Metric = SweepSpec.Loss, Mode = "min", Axes = [Sweep.Axes[0] with { Values = ["0", "1"] }] };
        await KillCoordinatorWhileHeldAsync(folder, "adopt-loss-1", sweep, 2, new ScriptedTrialRunner(Loss) { Hold = [0, 1] });

        var second = new ScriptedTrialRunner(Loss);
        second.Surviving["adopt-loss-1/resume-t000/a1"] = ExperimentState.Completed;
        await using var cluster = await SweepClusters.StartAsync(second, silo => silo.AddSegClusterFileGrainStorage(folder.FullName));
        var status = await SweepClusters.UntilEndedAsync(cluster.Client.GetGrain<ISweepGrain>("adopt-loss-1"));

        Assert.Empty(second.Follows);
        Assert.Equal([(TrialState.Completed, 2), (TrialState.Completed, 2)], status.Trials.Select(t => (t.State, t.Attempt)));
        Assert.All(status.Trials, t => Assert.NotNull(t.Metric));
    }

    /// <summary>Trial 0's experiment still runs when a coordinator takes the sweep over (ASHA on the loss, rungs 1 and 3):
    /// it is followed on its worker as attempt 1, from the step its saved rung value recorded, and trial 1 waits for that
    /// worker. Its curve and rungs go on where the saved ones end. Before: it was abandoned (its experiment cancelled, the
    /// steps since its last checkpoint lost) and launched again as attempt 2.</summary>
    [Fact]
    public async Task A_coordinator_taking_over_follows_a_trial_whose_experiment_still_runs_as_the_same_attempt_on_its_workers()
    {
        using var folder = new TempDirectory("segcluster-sweep-state-");
        static double Loss(int trial, int step) => trial == 1 ? 0.5 : step == 1 ? 5 : 1;
        var sweep = Sweep with
        {
            TrialSteps = 9, MaxConcurrentTrials = 1, Metric = SweepSpec.Loss, Mode = SweepSpec.Min, Axes = [Sweep.Axes[0] with { Values = ["0", "1"] }], Search = AshaAt1And3,
        };
        await KillCoordinatorWhileHeldAsync(folder, "adopt-running-1", sweep, 1, new ScriptedTrialRunner(Loss) { Hold = [0] },
            async client => (await client.GetGrain<ISweepTrialGrain>(ISweepTrialGrain.Key("adopt-running-1", 0)).GetAsync())?.Rungs.Count == 1);

        var second = new ScriptedTrialRunner(Loss) { Hold = [0] };
        second.Surviving["adopt-running-1/resume-t000/a1"] = ExperimentState.Running;
        await using var cluster = await SweepClusters.StartAsync(second, silo => silo.AddSegClusterFileGrainStorage(folder.FullName));
        var grain = cluster.Client.GetGrain<ISweepGrain>("adopt-running-1");
        await grain.GetStatusAsync();  // activates the coordinator that takes over
        await second.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));  // followed, at step 2
        var followed = (await grain.GetStatusAsync()).Trials[0];
        Assert.Equal((TrialState.Running, 1, "adopt-running-1/resume-t000/a1"), (followed.State, followed.Attempt, followed.ExperimentId));
        Assert.Equal((0, 0), (second.Launches.Count, second.Abandoned.Count));  // trial 1 waits for the worker trial 0 trains on
        second.Released.SetResult();
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.Equal([("adopt-running-1/resume-t000/a1", 1)], second.Follows.Select(f => (f.Launch.ExperimentId, f.FromStep)));
        Assert.Equal(["adopt-running-1/resume-t001/a1"], second.Launches.Select(l => l.ExperimentId));
        Assert.Empty(second.Abandoned);
        var trial = status.Trials[0];
        Assert.Equal((TrialState.Completed, 1, 9), (trial.State, trial.Attempt, trial.Steps));
        Assert.Equal(Enumerable.Range(1, 9), trial.Curve.Select(p => p.Step));
        Assert.Equal([new CurvePoint(1, 5), new CurvePoint(3, 1)], trial.Rungs);
        Assert.Equal((TrialState.Completed, 1), (status.Trials[1].State, status.Trials[1].Attempt));
    }

    /// <summary>A trial whose experiment failed or was cancelled while the sweep had no coordinator, or that the runner cannot
    /// find, is launched again from its checkpoint as attempt 2, as every interrupted trial was before; none is followed.</summary>
    [Theory]
    [InlineData(ExperimentState.Failed)]
    [InlineData(ExperimentState.Cancelled)]
    [InlineData(null)]
    public async Task A_coordinator_taking_over_launches_again_a_trial_whose_experiment_ended_otherwise_or_is_unknown(ExperimentState? state)
    {
        using var folder = new TempDirectory("segcluster-sweep-state-");
        var sweep = Sweep with { Axes = [Sweep.Axes[0] with { Values = ["0"] }] };
        await KillCoordinatorWhileHeldAsync(folder, "adopt-not-1", sweep, 1, new ScriptedTrialRunner(Loss) { Hold = [0] });

        var second = new ScriptedTrialRunner(Loss);
        if (state is { } known) second.Surviving["adopt-not-1/resume-t000/a1"] = known;
        second.Checkpoints["adopt-not-1/resume-t000/a1"] = new CheckpointRecord(1, "/ckpt/adopt-not-1/resume-t000/a1/step-000001.ckpt");
        await using var cluster = await SweepClusters.StartAsync(second, silo => silo.AddSegClusterFileGrainStorage(folder.FullName));
        var trial = (await SweepClusters.UntilEndedAsync(cluster.Client.GetGrain<ISweepGrain>("adopt-not-1"))).Trials[0];

        Assert.Empty(second.Follows);
        Assert.Equal(["adopt-not-1/resume-t000/a1"], second.Abandoned);
        Assert.Equal(["/ckpt/adopt-not-1/resume-t000/a1/step-000001.ckpt"], second.Launches.Select(l => l.Spec.Training.ResumeFrom));
        Assert.Equal((TrialState.Completed, 2, (int?)1), (trial.State, trial.Attempt, trial.ResumedFromStep));
    }
}
