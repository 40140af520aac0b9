using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Tests.Grains;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>The sweep coordinator on a real silo with a scripted trainer: ASHA stops, skips, leases, cancellation.</summary>
public sealed class SweepGrainTests
{
    private static readonly ExperimentSpec TinyBase = new() { Training = new TrainingSpec { BatchPerWorker = 2 }, Dataset = new DatasetSpec { TrainCount = 16 } };

    [Fact]
    public async Task Asha_on_the_grain_stops_exactly_the_trials_the_scripted_objective_says()
    {
        var runner = new ScriptedTrialRunner(AshaRungsTests.Loss);
        await using var cluster = await SweepClusters.StartAsync(runner);
        var sweep = new SweepSpec
        {
            Name = "asha", Base = TinyBase, TrialSteps = 9, MaxConcurrentTrials = 1, Metric = SweepSpec.Loss, Mode = SweepSpec.Min,
            // A grid axis keeps the trial order, so reports arrive as in the pure test.
            Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Grid, Values = [.. Enumerable.Range(0, AshaRungsTests.Losses.Length).Select(i => $"{i}")] }],
            Search = new SearchSpec { Kind = SearchSpec.Asha, MinBudget = 1, ReductionFactor = 3, Rungs = 2 },
        };
        var grain = cluster.Client.GetGrain<ISweepGrain>("asha-1");
        await grain.StartAsync(sweep, SweepClusters.Workers(1));
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.Equal(SweepState.Completed, status.State);
        var stopped = status.Trials.Where(t => t.State == TrialState.Stopped).ToDictionary(t => t.Index, t => t.Steps);
        Assert.Equal(AshaRungsTests.Expected.OrderBy(p => p.Key), stopped.OrderBy(p => p.Key));
        Assert.All(status.Trials.Where(t => !stopped.ContainsKey(t.Index)), t => Assert.Equal((TrialState.Completed, 9), (t.State, t.Steps)));
        Assert.Contains("ASHA: loss 9.0000 at the 3-step rung", status.Trials[9].Reason);
        Assert.Equal([new CurvePoint(1, 1), new CurvePoint(3, 9)], status.Trials[9].Rungs);
        Assert.Equal(3, status.Best!.Index);  // loss 1
    }

    /// <summary>ASHA on mIoU compares the trials' validations at its rungs, not their training losses: the scripted trials
    /// validate with mIoU = 1 − loss/10, so maximising it stops exactly the trials minimising the loss stops (maximising
    /// the loss would stop the others), the rungs hold mIoU values, and a stopped trial keeps its last validation's mIoU.</summary>
    [Fact]
    public async Task Asha_on_validation_miou_stops_the_trials_whose_rung_validations_are_worst()
    {
        var runner = new ScriptedTrialRunner(AshaRungsTests.Loss);
        await using var cluster = await SweepClusters.StartAsync(runner);
        var sweep = new SweepSpec
        {
            Name = "asha-miou", Base = TinyBase, TrialSteps = 9, MaxConcurrentTrials = 1, Metric = SweepSpec.MeanIoU,
            Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Grid, Values = [.. Enumerable.Range(0, AshaRungsTests.Losses.Length).Select(i => $"{i}")] }],
            Search = new SearchSpec { Kind = SearchSpec.Asha, MinBudget = 1, ReductionFactor = 3, Rungs = 2 },
        };
        var grain = cluster.Client.GetGrain<ISweepGrain>("asha-miou-1");
        await grain.StartAsync(sweep, SweepClusters.Workers(1));
        var status = await SweepClusters.UntilEndedAsync(grain);

        var stopped = status.Trials.Where(t => t.State == TrialState.Stopped).ToDictionary(t => t.Index, t => t.Steps);
        Assert.Equal(AshaRungsTests.Expected.OrderBy(p => p.Key), stopped.OrderBy(p => p.Key));
        Assert.All(runner.Launches, l => Assert.Equal((1, 3, "miou"), (l.Spec.Training.ValidateEvery, l.Spec.Training.ValidateGrowth, l.Spec.Training.BestMetric)));
        Assert.Contains("ASHA: miou 0.1000 at the 3-step rung", status.Trials[9].Reason);
        Assert.Equal([new CurvePoint(1, 1 - 1 / 10.0), new CurvePoint(3, 1 - 9 / 10.0)], status.Trials[9].Rungs);  // the scripted mIoU, bit for bit
        Assert.Equal(0.1, status.Trials[9].Metric!.Value, 12);  // its last validation
        Assert.Equal([1, 3], status.Trials[9].Validations.Select(v => v.Step));  // at the rungs only (1·3^k), until ASHA stopped it
        Assert.Equal(3, status.Best!.Index);  // loss 1: mIoU 0.9
    }

    /// <summary>A sweep's trials start on its workers outside the scheduler's gangs, so it holds them there: while it runs a
    /// scheduler check keeps the hold, and its end gives them back.</summary>
    [Fact]
    public async Task A_sweep_holds_its_workers_in_the_scheduler_while_it_runs_and_gives_them_back_when_it_ends()
    {
        var runner = new ScriptedTrialRunner((_, _) => 1) { Hold = [0] };
        await using var cluster = await SweepClusters.StartAsync(runner);
        var (scheduler, workers) = await RegisteredWorkersAsync(cluster, 2);

        var grain = cluster.Client.GetGrain<ISweepGrain>("holds-1");
        await grain.StartAsync(new SweepSpec { Base = TinyBase, TrialSteps = 2, Axes = [Seeds("1", "2")] }, workers);
        await runner.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await scheduler.CheckAsync();  // asks the sweep whether it runs: it does
        Assert.Equal("sweep#holds-1 sweep#holds-1", await HoldersAsync(scheduler));

        runner.Released.SetResult();
        Assert.Equal(SweepState.Completed, (await SweepClusters.UntilEndedAsync(grain)).State);
        await UntilFreeAsync(scheduler, "free free");  // released by the driver after it recorded the end
    }

    /// <summary>The sweep's end record cannot be written after a cancel (every try of it fails): the cancel is refused, the
    /// workers stay held (storage still says running), and the next activation ends it cancelled. Before, the cancel
    /// returned, the driver released the workers as if the sweep had ended, and the next activation resumed it and
    /// recorded it completed with its trials cancelled.</summary>
    [Fact]
    public async Task A_cancel_whose_end_cannot_be_recorded_is_refused_and_the_next_activation_ends_the_sweep_cancelled()
    {
        var storage = new GatedGrainStorage();
        var runner = new ScriptedTrialRunner((_, _) => 1) { Hold = [0] };
        await using var cluster = await SweepClusters.StartAsync(runner, silo => silo.Services.AddKeyedSingleton<IGrainStorage>(ClusterStorage.Sweeps, storage));
        var (scheduler, workers) = await RegisteredWorkersAsync(cluster, 1);
        var grain = cluster.Client.GetGrain<ISweepGrain>("unrecorded-1");
        await grain.StartAsync(new SweepSpec { Base = TinyBase, TrialSteps = 2, Axes = [Seeds("1", "2")] }, workers);
        await runner.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));

        storage.FailNextWrites(4, "sweep");  // every try of the sweep's end record; the trials' own entries are written
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => grain.CancelAsync());

        Assert.Contains("could not record its cancel", refused.Message);
        Assert.Equal("sweep#unrecorded-1", await HoldersAsync(scheduler));  // not released as if it had ended
        var status = await SweepClusters.UntilEndedAsync(grain);  // the next call reactivates it from the stored record
        Assert.Equal(SweepState.Cancelled, status.State);
        Assert.All(status.Trials, t => Assert.Equal(TrialState.Cancelled, t.State));
        Assert.Single(runner.Launches);  // the trial pending at the cancel never ran
        await UntilFreeAsync(scheduler, "free");
    }

    /// <summary>A driver that fails (here launching a failed trial again: its last checkpoint cannot be read) stops its running
    /// trials as a cancel does, and gives their workers back only once they have stopped. Before, it recorded the sweep failed
    /// and released the workers at once, without cancelling: the held trial's experiment trained on while the scheduler
    /// showed its workers free.</summary>
    [Fact]
    public async Task A_failing_driver_cancels_its_running_trials_before_it_gives_their_workers_back()
    {
        var runner = new ScriptedTrialRunner((_, _) => 1)
        {
            Hold = [0], IgnoreCancel = true,                  // trial 0 runs, slow to stop
            Failure = launch => launch.Index == 1 ? [] : null,  // trial 1 fails; its relaunch (max_failures 1) reads its checkpoint
            CheckpointError = new IOException("the checkpoint store cannot be read"),
        };
        await using var cluster = await SweepClusters.StartAsync(runner);
        var (scheduler, workers) = await RegisteredWorkersAsync(cluster, 2);
        var grain = cluster.Client.GetGrain<ISweepGrain>("driver-fails-1");
        await grain.StartAsync(new SweepSpec { Base = TinyBase, TrialSteps = 2, MaxConcurrentTrials = 2, MaxFailures = 1, Axes = [Seeds("0", "1")] }, workers);
        await runner.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        runner.Tokens[0].Register(() => cancelled.TrySetResult());
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("sweep#driver-fails-1 sweep#driver-fails-1", await HoldersAsync(scheduler));  // trial 0 is still stopping
        Assert.Equal(SweepState.Running, (await grain.GetStatusAsync()).State);

        runner.Released.SetResult();  // trial 0 stops
        var status = await SweepClusters.UntilEndedAsync(grain, failed: true);
        Assert.Equal("the checkpoint store cannot be read", status.Error);
        await UntilFreeAsync(scheduler, "free free");
        Assert.Equal([0, 1], runner.Launches.Select(l => l.Index).Order());  // trial 1 was not launched again
        Assert.Equal(TrialState.Pending, status.Trials[1].State);  // left for a resume
    }

    /// <summary>A driver fails while trial 0's attempt 1 is still stopping after Sweeps:CancelWait; a resume launches the trial
    /// again as attempt 2, and attempt 1 then reports a step. Before, that late report (its callback had no attempt check) was
    /// written onto attempt 2's curve and judged by ASHA as attempt 2's; now it is ignored and attempt 1 told to stop.</summary>
    [Fact]
    public async Task A_late_report_of_an_abandoned_attempt_does_not_land_on_the_trials_new_attempt()
    {
        var runner = new ScriptedTrialRunner((_, _) => 1)
        {
            Hold = [0], IgnoreCancel = true, SharedWorkers = true,  // trial 0 is slow to stop, and its next attempt runs beside it
            Failure = launch => launch.ExperimentId.EndsWith("/a1") && launch.Index == 1 ? [] : null,
            CheckpointError = new IOException("the checkpoint store cannot be read"),  // trial 1's retry fails the driver
            LaunchLoss = (launch, _) => launch.ExperimentId.EndsWith("/a1") ? 100 : 1,
        };
        await using var cluster = await SweepClusters.StartAsync(runner, options: o => o.CancelWait = TimeSpan.FromSeconds(1));
        var (scheduler, workers) = await RegisteredWorkersAsync(cluster, 2);
        var grain = cluster.Client.GetGrain<ISweepGrain>("late-1");
        await grain.StartAsync(new SweepSpec { Base = TinyBase, TrialSteps = 2, MaxConcurrentTrials = 2, MaxFailures = 1, Axes = [Seeds("0", "1")] }, workers);
        await SweepClusters.UntilEndedAsync(grain, failed: true);
        await UntilFreeAsync(scheduler, "free free");  // the failed driver has ended
        var first = runner.Launches.First(l => l.Index == 0).ExperimentId;
        var second = first[..^1] + "2";

        runner.CheckpointError = null;
        await grain.ResumeAsync(retryFailed: false);  // trial 0, running in the record, is launched again
        await runner.Reported(second, 1).WaitAsync(TimeSpan.FromSeconds(30));  // attempt 2 runs, held after its first step
        runner.Released.SetResult();
        await runner.Reported(first, 2).WaitAsync(TimeSpan.FromSeconds(30));  // attempt 1's late report

        var status = await SweepClusters.UntilEndedAsync(grain);
        Assert.Equal(SweepState.Completed, status.State);
        Assert.Equal((TrialState.Completed, 2), (status.Trials[0].State, status.Trials[0].Attempt));
        Assert.DoesNotContain(status.Trials[0].Curve, p => p.Value == 100);  // before: attempt 1's step 2 on attempt 2's curve
        Assert.Contains((first, 2, false), runner.Reports);  // attempt 1 was told to stop
    }

    /// <summary>A trial's save that fails as its grain's node is being lost (SiloUnavailableException: the membership has
    /// not yet declared the node dead) is tried again, and the sweep completes with every result stored. Before, the
    /// driver recorded the sweep failed on the first such error.</summary>
    [Fact]
    public async Task A_trial_save_rejected_while_a_node_is_lost_is_tried_again_and_the_sweep_completes()
    {
        var refused = 0;
        var runner = new ScriptedTrialRunner((_, _) => 1);
        await using var cluster = await SweepClusters.StartAsync(runner, configure: silo => silo.AddOutgoingGrainCallFilter(async call =>
        {
            if (call.InterfaceMethod?.Name == nameof(ISweepTrialGrain.SaveAsync) && Interlocked.Increment(ref refused) <= 2)
                throw new SiloUnavailableException("the trial grain's node does not answer");
            await call.Invoke();
        }));
        var grain = cluster.Client.GetGrain<ISweepGrain>("save-retry-1");
        await grain.StartAsync(new SweepSpec { Base = TinyBase, TrialSteps = 2, Axes = [Seeds("0", "1")] }, SweepClusters.Workers(1));
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.Equal(SweepState.Completed, status.State);
        Assert.True(refused > 2, $"{refused} saves");  // the first two were refused, the sweep went on saving
        var stored = await Task.WhenAll(status.Trials.Select(t => cluster.Client.GetGrain<ISweepTrialGrain>(ISweepTrialGrain.Key("save-retry-1", t.Index)).GetAsync()));
        Assert.All(stored, t => Assert.Equal(TrialState.Completed, t?.State));
    }

    private static SweepAxis Seeds(params string[] values) => new() { Path = "seed", Kind = SweepAxis.Grid, Values = values };

    private static async Task<(ISchedulerGrain Scheduler, IReadOnlyList<string> Workers)> RegisteredWorkersAsync(Orleans.TestingHost.InProcessTestCluster cluster, int count)
    {
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        var workers = SweepClusters.Workers(count);
        await scheduler.RegisterWorkersAsync([.. workers.Select(w => new SegCluster.Abstractions.Messages.WorkerInfo(w, "test", "cpu", "http://127.0.0.1:1"))]);
        return (scheduler, workers);
    }

    /// <summary>Who holds each worker, in worker order ("free" for none).</summary>
    private static async Task<string> HoldersAsync(ISchedulerGrain scheduler) =>
        string.Join(" ", (await scheduler.GetSnapshotAsync()).Workers.OrderBy(w => w.Worker.WorkerId).Select(w => w.ExperimentId ?? "free"));

    /// <summary>Waits (at most 10 s) for the holders a sweep's end leaves: the driver releases its workers after it recorded the end.</summary>
    private static async Task UntilFreeAsync(ISchedulerGrain scheduler, string expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (await HoldersAsync(scheduler) != expected && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(expected, await HoldersAsync(scheduler));
    }

    [Fact]
    public async Task Invalid_combinations_are_skipped_with_the_reason_and_trials_never_share_a_worker()
    {
        var runner = new ScriptedTrialRunner((trial, step) => trial + 1.0 / step);
        await using var cluster = await SweepClusters.StartAsync(runner);
        var sweep = new SweepSpec
        {
            Name = "grid", Base = TinyBase, TrialSteps = 4, MaxConcurrentTrials = 3, WorkersPerTrial = 2,
            Axes =
            [
                new SweepAxis { Path = "labels.mode", Kind = SweepAxis.Grid, Values = ["full", "nearest", "soft-ce"] },
                new SweepAxis { Path = "labels.factor", Kind = SweepAxis.Choice, Values = ["1", "4"] },
            ],
        };
        var grain = cluster.Client.GetGrain<ISweepGrain>("grid-1");
        await grain.StartAsync(sweep, SweepClusters.Workers(5));
        var status = await SweepClusters.UntilEndedAsync(grain);

        var skipped = Assert.Single(status.Trials, t => t.State == TrialState.Skipped);
        Assert.Equal(("full", "4"), (skipped.ValueOf("labels.mode"), skipped.ValueOf("labels.factor")));
        Assert.Contains("labels.factor: 4 needs a down-sampling mode", skipped.Reason);
        Assert.Equal(5, status.Count(TrialState.Completed));
        Assert.Equal(5, runner.Launches.Count);
        Assert.InRange(runner.MaxRunning, 1, 2);  // 5 workers / 2 per trial, below max_concurrent_trials 3
        Assert.All(runner.Launches, l => Assert.Equal(2, l.Spec.Workers));
        Assert.Equal(0.975, status.Best!.MeanIoU!.Value, 12);  // trial 0: final loss 0 + 1/4 → mIoU 1 − 0.025, the best
        Assert.Equal(0, status.Best.Index);
    }

    /// <summary>spectral_skip runs in the sweep's driver, after Start has returned (a full-resolution analysis can outlast a
    /// grain call), and before any trial starts: the hopeless grid is skipped with the numbers and never launched.</summary>
    [Fact]
    public async Task Spectral_skip_skips_the_hopeless_grid_before_any_trial_launches()
    {
        var runner = new ScriptedTrialRunner((trial, step) => trial + 1.0 / step);
        await using var cluster = await SweepClusters.StartAsync(runner);
        var sweep = new SweepSpec
        {
            Name = "grids", Base = TinyBase with { Labels = new LabelsSpec { Mode = LabelsSpec.SoftCe, Factor = 2 } }, TrialSteps = 2, MaxConcurrentTrials = 1,
            Axes = [new SweepAxis { Path = "labels.factor", Kind = SweepAxis.Grid, Values = ["16", "2"] }],
            SpectralSkip = new SpectralSkipSpec { MaxPredictedDrop = 0.05, Images = 8 },
        };
        var grain = cluster.Client.GetGrain<ISweepGrain>("grids-1");
        var started = await grain.StartAsync(sweep, SweepClusters.Workers(1));
        Assert.All(started.Trials, t => Assert.NotEqual(TrialState.Skipped, t.State));  // not decided inside the call
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.Equal(SweepState.Completed, status.State);
        Assert.Equal((TrialState.Skipped, TrialState.Completed), (status.Trials[0].State, status.Trials[1].State));
        Assert.StartsWith("spectral: labels.factor 16", status.Trials[0].Reason, StringComparison.Ordinal);
        Assert.Equal([1], runner.Launches.Select(l => l.Index));
    }

    [Fact]
    public async Task An_invalid_sweep_is_rejected_with_every_error_and_can_then_start_valid()
    {
        var runner = new ScriptedTrialRunner((_, _) => 1);
        await using var cluster = await SweepClusters.StartAsync(runner);
        var grain = cluster.Client.GetGrain<ISweepGrain>("bad-1");
        var bad = new SweepSpec { Base = TinyBase, Metric = "f1", WorkersPerTrial = 3, Axes = [new SweepAxis { Path = "training.lr", Values = ["1"] }] };
        var e = await Assert.ThrowsAsync<ArgumentException>(() => grain.StartAsync(bad, SweepClusters.Workers(2)));
        Assert.Contains("metric: 'f1'", e.Message);
        Assert.Contains("axes[0].path:", e.Message);
        Assert.Contains("workers_per_trial: 3 workers per trial, but the cluster gave the sweep 2", e.Message);
        Assert.Empty(runner.Launches);

        await grain.StartAsync(new SweepSpec { Base = TinyBase, TrialSteps = 2 }, SweepClusters.Workers(1));
        Assert.Equal(TrialState.Completed, Assert.Single((await SweepClusters.UntilEndedAsync(grain)).Trials).State);
        await Assert.ThrowsAsync<InvalidOperationException>(() => grain.StartAsync(new SweepSpec { Base = TinyBase }, SweepClusters.Workers(1)));
    }

    [Fact]
    public async Task At_most_max_concurrent_trials_run_and_cancelling_ends_running_and_pending_trials_as_cancelled()
    {
        var runner = new ScriptedTrialRunner((_, _) => 1) { Hold = [0, 1] };
        await using var cluster = await SweepClusters.StartAsync(runner);
        var sweep = new SweepSpec
        {
            Base = TinyBase, TrialSteps = 3, MaxConcurrentTrials = 2,
            Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Integer, Min = 0, Max = 100 }], Search = new SearchSpec { Kind = SearchSpec.Random, Samples = 5 },
        };
        var grain = cluster.Client.GetGrain<ISweepGrain>("cancel-1");
        await grain.StartAsync(sweep, SweepClusters.Workers(3));
        await runner.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, runner.MaxRunning);  // max_concurrent_trials, though a third worker is free
        await grain.CancelAsync();
        var status = await grain.GetStatusAsync();
        Assert.Equal(SweepState.Cancelled, status.State);
        Assert.Equal(5, status.Count(TrialState.Cancelled));
        Assert.Equal(2, runner.Launches.Count);
    }

    /// <summary>max_failures (Ray Tune's FailureConfig): a failed trial is launched again from scratch until its retries
    /// are spent; a worker whose node left the cluster is leased to no later trial, where before every trial it was
    /// handed went on to fail.</summary>
    [Fact]
    public async Task Failed_trials_are_launched_again_up_to_max_failures_and_a_lost_workers_node_gets_no_more_trials()
    {
        string? lostWorker = null;
        var runner = new ScriptedTrialRunner((trial, step) => trial + 1.0 / step)
        {
            Failure = launch => (launch.Index, launch.ExperimentId.EndsWith("/a1", StringComparison.Ordinal)) switch
            {
                (0, true) => [lostWorker = launch.Workers[0]],  // trial 0's first attempt loses its node
                (1, _) => [],                                   // trial 1 fails on every attempt
                _ => null,
            },
        };
        await using var cluster = await SweepClusters.StartAsync(runner);
        var sweep = new SweepSpec
        {
            Name = "retry", Base = TinyBase, TrialSteps = 3, MaxConcurrentTrials = 2, MaxFailures = 1,
            Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Grid, Values = ["0", "1", "2", "3"] }],
        };
        var grain = cluster.Client.GetGrain<ISweepGrain>("retry-1");
        await grain.StartAsync(sweep, SweepClusters.Workers(3));
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.Equal(SweepState.Completed, status.State);
        var (first, second) = (status.Trials[0], status.Trials[1]);
        Assert.Equal((TrialState.Completed, 2, 1), (first.State, first.Attempt, first.Failures));
        Assert.Contains("attempt 1 failed (scripted failure of retry-1/retry-t000/a1); launched again (retry 1 of max_failures 1)", first.Reason);
        Assert.Equal((TrialState.Failed, 2, 1), (second.State, second.Attempt, second.Failures));
        Assert.Equal("scripted failure of retry-1/retry-t001/a2", second.Reason);
        Assert.All(status.Trials.Skip(2), t => Assert.Equal((TrialState.Completed, 1, 0), (t.State, t.Attempt, t.Failures)));
        Assert.Equal(6, runner.Launches.Count);
        Assert.NotNull(lostWorker);
        Assert.Single(runner.Launches, l => l.Workers.Contains(lostWorker));
    }

    [Fact]
    public async Task Trials_left_when_too_few_workers_remain_fail_with_the_reason()
    {
        var runner = new ScriptedTrialRunner((_, _) => 1) { Failure = launch => launch.Index == 0 ? launch.Workers : null };
        await using var cluster = await SweepClusters.StartAsync(runner);
        var sweep = new SweepSpec
        {
            Name = "lost", Base = TinyBase, TrialSteps = 2, MaxConcurrentTrials = 1, WorkersPerTrial = 2,
            Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Grid, Values = ["0", "1", "2"] }],
        };
        var grain = cluster.Client.GetGrain<ISweepGrain>("lost-1");
        await grain.StartAsync(sweep, SweepClusters.Workers(3));
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.Equal(SweepState.Completed, status.State);
        Assert.Equal(TrialState.Failed, status.Trials[0].State);
        Assert.All(status.Trials.Skip(1), t =>
        {
            Assert.Equal(TrialState.Failed, t.State);
            Assert.Contains("no workers left to run it", t.Reason);
            Assert.Contains("the 1 remaining of the sweep's 3 workers cannot make a trial of 2", t.Reason);
        });
        Assert.Single(runner.Launches);
    }

    /// <summary>A cancel waits for the trials to stop at most Sweeps:CancelWait, within the 30 s call timeout (it awaited
    /// them whatever they took, and the caller's call timed out), and the status answers meanwhile.</summary>
    [Fact]
    public async Task A_cancel_returns_within_CancelWait_while_a_trial_is_slow_to_stop_and_the_status_answers_meanwhile()
    {
        var runner = new ScriptedTrialRunner((_, _) => 1) { Hold = [0], IgnoreCancel = true };
        await using var cluster = await SweepClusters.StartAsync(runner, options: o => o.CancelWait = TimeSpan.FromMilliseconds(500));
        var grain = cluster.Client.GetGrain<ISweepGrain>("slow-cancel-1");
        await grain.StartAsync(new SweepSpec { Base = TinyBase, TrialSteps = 3, MaxConcurrentTrials = 1 }, SweepClusters.Workers(1));
        await runner.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var cancel = grain.CancelAsync();
        Assert.Equal(SweepState.Running, (await grain.GetStatusAsync()).State);  // answers while the cancel waits
        await cancel.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(SweepState.Running, (await grain.GetStatusAsync()).State);  // the trial has not stopped yet

        runner.Released.SetResult();
        Assert.Equal(SweepState.Cancelled, (await SweepClusters.UntilEndedAsync(grain)).State);
    }
}

