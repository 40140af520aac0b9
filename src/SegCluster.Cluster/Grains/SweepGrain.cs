using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Sweeps;
using SegCluster.Cluster.Sweeps.Search;
using SegCluster.Cluster.Telemetry;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// Coordinates one sweep. Start expands the spec into trials (invalid combinations are skipped with a reason) and
/// persists them; a driver loop on this activation then skips spectrally hopeless grids (spectral_skip) and launches trials through the
/// <see cref="ITrialRunner"/> on leased workers, at most max_concurrent_trials at once, applies ASHA to their progress,
/// and persists each trial when it starts and when it ends. A failed trial is launched again up to max_failures times;
/// workers whose node left the cluster are leased to no other trial. A new activation of a running sweep (its node was lost)
/// resumes: finished trials stay as recorded, running ones whose experiment completed or still runs are followed
/// (<see cref="SweepTakeover"/>), other interrupted ones are launched again. A driver that fails stops its running
/// trials as a cancel does before it records the sweep failed and gives its workers back.
/// </summary>
public sealed class SweepGrain(
    [PersistentState("sweep", ClusterStorage.Sweeps)] IPersistentState<SweepRecord> record,
    ITrialRunner runner,
    SpectralTrialFilter spectral,
    IOptions<SweepOptions> options,
    SegClusterMetrics metrics,
    SpecPathPolicy paths,
    ILogger<SweepGrain> logger) : Grain, ISweepGrain
{
    private readonly TrialLauncher _launcher = new(runner);
    private readonly SweepTakeover _takeover = new(runner, logger);
    private SweepTrialStore _trials = null!;  // made on activation: it needs the grain's key
    private TrialProgressRecorder _progress = null!;  // made by StartDriver, before any trial reports
    private CancellationTokenSource _cancel = new();
    private readonly RunningTrials _running = new();  // the driver's; a field, as a failure of the driver stops them
    private readonly Queue<int> _requeued = [];  // failed trials a resume asked to run again while the driver runs
    private Task _driver = Task.CompletedTask;
    private bool _driverEnding;  // the driver left its loop: what is queued now would not run
    /// <summary>Completed when the driver has work besides a trial ending: a rung value a running trial recorded, to save,
    /// or trials a resume queued again, to launch in free slots.</summary>
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string Id => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _trials = new SweepTrialStore(Id, GrainFactory, () => record.State.Trials, PublishTrialStates, logger);
        if (record.State.State == SweepState.Running)
        {
            await _trials.LoadAsync();
            var interrupted = record.State.Trials.Count(t => t.State == TrialState.Running);
            logger.LogWarning("Sweep {Sweep} resumes: {Finished} trials finished, {Interrupted} were running (followed if their experiment completed or still runs, else launched again)",
                Id, record.State.Trials.Count(t => t.State.IsFinished()), interrupted);
            record.State = record.State with { Resumes = record.State.Resumes + 1 };
            // Trials the sweep's cancel ended, stored before the sweep's end could be recorded (its write failed): the cancel
            // stands, so this driver cancels too, and ends the sweep cancelled instead of completing it.
            if (record.State.Trials.Any(TrialTransitions.EndedBySweepCancel))
            {
                logger.LogWarning("Sweep {Sweep} was being cancelled when its coordinator stopped; it ends cancelled", Id);
                _cancel.Cancel();
            }
            try
            {
                await ReserveWorkersAsync();  // held already (the same sweep): idempotent; after a lost scheduler record: again
            }
            catch (Exception e)
            {
                logger.LogWarning("Sweep {Sweep} could not hold its workers again ({Error}); its trials start on them anyway", Id, e.Message);
            }
            StartDriver();
        }
    }

    /// <summary>The trial counts are exported by the node this grain is active on (<see cref="SegClusterMetrics.ForgetSweep"/>):
    /// without this a sweep whose coordinator moved, or that failed with trials it could not stop, was counted running here forever.</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.ForgetSweep(Id);
        return Task.CompletedTask;
    }

    /// <summary>Holds the sweep's workers in the scheduler, so no experiment or other sweep is given them while its trials
    /// start on them outside the scheduler's gangs; released when the driver ends.</summary>
    private Task ReserveWorkersAsync() => Scheduler.ReserveAsync(Id, record.State.Workers);

    /// <summary>Makes <paramref name="running"/> the record (in memory), then holds its workers; when the scheduler refuses,
    /// the record is as it was. Running first: a scheduler check that asks this sweep while the reservation is being written
    /// (<see cref="IsRunningAsync"/> interleaves) must not find it ended and free what it is holding.</summary>
    private async Task RunningAndHoldingAsync(SweepRecord running)
    {
        var before = record.State;
        record.State = running;
        try
        {
            await ReserveWorkersAsync();
        }
        catch
        {
            record.State = before;
            throw;
        }
    }

    private ISchedulerGrain Scheduler => GrainFactory.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);

    public async Task<SweepStatus> StartAsync(SweepSpec spec, IReadOnlyList<string> workerIds)
    {
        if (record.State.Spec is not null)
            throw new InvalidOperationException($"Sweep '{Id}' was already started (state {record.State.State}).");
        var errors = spec.Validate().ToList();
        if (RunIds.Problem(Id, "sweep id") is { } badId) errors.Add(badId);  // its trials' checkpoint folders nest under it
        if (workerIds.Count < spec.WorkersPerTrial)
            errors.Add($"workers_per_trial: {spec.WorkersPerTrial} workers per trial, but the cluster gave the sweep {workerIds.Count}; lower workers_per_trial or add workers.");
        if (workerIds.Distinct().Count() != workerIds.Count)
            errors.Add("workers: the same worker was given twice.");
        if (errors.Count > 0) throw Invalid(errors);

        var (trials, runnable) = TrialPlanner.Expand(spec);
        // The paths of every trial (the base's and those an axis sets) under this node's roots: refused now, not once per
        // trial. Each experiment checks its own again where it starts. Off the grain scheduler, as the preflight's: it reads
        // links under the roots.
        if (await Task.Run(() => runnable.SelectMany(r => paths.Refusals(r.Spec)).Distinct().ToList()) is { Count: > 0 } refused) throw Invalid(refused);
        await RunningAndHoldingAsync(new SweepRecord  // throws, naming the holders, when another run has some of its workers
        {
            Spec = spec, Workers = [.. workerIds], State = SweepState.Running, Trials = trials,
            SpectralSkipPending = SpectralTrialFilter.Applies(spec, runnable),
        });
        await record.WriteRetryingAsync(this, logger, $"Sweep {Id}");
        PublishTrialStates();
        logger.LogInformation("Sweep {Sweep} started: {Trials} trials ({Skipped} skipped) on {Workers} workers",
            Id, trials.Count, trials.Count(t => t.State == TrialState.Skipped), workerIds.Count);
        StartDriver();
        return Status();
    }

    private ArgumentException Invalid(IEnumerable<string> errors) => new($"Sweep '{Id}' has an invalid spec:\n  - {string.Join("\n  - ", errors)}");

    public Task<SweepStatus> GetStatusAsync() => Task.FromResult(Status());

    public Task<bool> IsRunningAsync() => Task.FromResult(record.State is { Spec: not null, State: SweepState.Running });

    public async Task CancelAsync()
    {
        if (record.State.State != SweepState.Running) return;
        // The driver owns every write of a running sweep: it ends its trials as cancelled and records the sweep's end.
        _cancel.Cancel();
        try
        {
            await _driver.WaitAsync(options.Value.CancelWait);
        }
        catch (TimeoutException)
        {
            logger.LogWarning("Sweep {Sweep}: trials still stopping {Wait} after the cancel; the status shows when they have", Id, options.Value.CancelWait);
            return;
        }
        // The driver stopped without recording the end (a write failed even after its retries): this activation is being
        // replaced, and the caller must not take the cancel as recorded.
        if (record.State.State == SweepState.Running)
            throw new InvalidOperationException(
                $"Sweep '{Id}' could not record its cancel (its storage refused the write); its coordinator restarts from the stored record on the next call: cancel it again.");
    }

    public async Task<SweepStatus> ResumeAsync(bool retryFailed)
    {
        if (record.State.Spec is null)
            throw new InvalidOperationException($"Sweep '{Id}' has no record here: it was never started, or its state was not kept.");
        // A driver recording the end, or stopping cancelled trials, is let finish: the resume starts from what it records.
        if (_driverEnding || (_cancel.IsCancellationRequested && !_driver.IsCompleted))
        {
            try
            {
                await _driver.WaitAsync(options.Value.CancelWait);
            }
            catch (TimeoutException)
            {
                throw new InvalidOperationException($"Sweep '{Id}' is still stopping its cancelled trials; resume it again in a moment.");
            }
        }
        if (!_driver.IsCompleted)
        {
            // Running (this activation took it over from storage): trials a cancel ended before the process stopped, and with
            // retryFailed the failed ones, join the driver's queue.
            foreach (var index in Again(TrialState.Cancelled, "resumed").Concat(retryFailed ? Again(TrialState.Failed, "--retry-failed") : []))
                _requeued.Enqueue(index);
            await _trials.SaveAsync();
            _wake.TrySetResult();  // a free slot takes them now, not when a running trial next ends
            return Status();
        }
        var runsAgain = record.State.Trials.Any(t => t.State is TrialState.Pending or TrialState.Running or TrialState.Cancelled || retryFailed && t.State == TrialState.Failed);
        if (!runsAgain && record.State.State == SweepState.Completed) return Status();
        // Its workers may have gone to others since it ended: refused then, naming them, with nothing changed.
        await RunningAndHoldingAsync(record.State with { State = SweepState.Running, Error = null, Resumes = record.State.Resumes + 1 });
        Again(TrialState.Cancelled, "resumed");
        if (retryFailed) Again(TrialState.Failed, "--retry-failed");
        logger.LogInformation("Sweep {Sweep} resumed: {Again} trials to run", Id, record.State.Trials.Count(t => !t.State.IsFinished()));
        await _trials.SaveAsync();  // before the record: a resuming coordinator lays the trials' own entries over it
        await record.WriteRetryingAsync(this, logger, $"Sweep {Id}");
        if (_cancel.IsCancellationRequested)
        {
            _cancel.Dispose();  // the driver that used it has ended; a trial still stopping keeps its cancelled token
            _cancel = new CancellationTokenSource();
        }
        StartDriver();
        return Status();
    }

    /// <summary>Sets the trials in <paramref name="state"/> back to pending (<see cref="TrialTransitions.Again"/>; in memory,
    /// marked unsaved) and returns them. Their rung values are kept up to the checkpoint they continue from (<see cref="TrialLauncher"/>).</summary>
    private List<int> Again(TrialState state, string why)
    {
        var trials = record.State.Trials;
        var again = trials.Where(t => t.State == state).Select(t => t.Index).ToList();
        foreach (var index in again)
        {
            trials[index] = TrialTransitions.Again(trials[index], why);
            _trials.Changed(index);
        }
        return again;
    }

    /// <summary>
    /// spectral_skip (PAPERS.md §2): the label analysis runs here, in the driver, not in Start: on full-resolution labels
    /// it takes longer than a grain call may (Orleans' 30 s response timeout), and the client would see a failed start of
    /// a sweep that then ran. Recorded before the first trial starts, so a resumed sweep analyses again only if it had not.
    /// </summary>
    private async Task SkipSpectrallyHopelessTrialsAsync(SweepSpec spec, CancellationToken cancellationToken)
    {
        logger.LogInformation("Sweep {Sweep}: analysing {Images} label images for spectral_skip", Id, spec.SpectralSkip!.Images);
        // Cancelled while analysing: the driver ends every pending trial as cancelled.
        if (!await spectral.SkipPendingAsync(spec, record.State.Trials, cancellationToken)) return;
        record.State = record.State with { SpectralSkipPending = false };
        await record.WriteRetryingAsync(this, logger, $"Sweep {Id}");
        PublishTrialStates();
    }

    /// <summary>Starts the driver loop on this activation with ASHA's rungs rebuilt from the record (a resumed sweep's too).</summary>
    private void StartDriver()
    {
        // Keep this activation (and the driver on it) alive while trials run without calls to the grain, however long
        // the sweep takes; the driver's end gives it back to the regular collection age.
        DelayDeactivation(Timeout.InfiniteTimeSpan);
        _progress = TrialProgressRecorder.For(record.State.Spec!, record.State.Trials, options.Value.MaxCurvePoints);
        _driverEnding = false;
        _driver = DriveOrFailAsync(_cancel.Token);
    }

    private async Task DriveOrFailAsync(CancellationToken cancellationToken)
    {
        try
        {
            await DriveAsync(cancellationToken);
        }
        catch (GrainStateNotWrittenException e)
        {
            // Storage failed (its own record or a trial's), not the sweep: this activation is replaced by one that resumes
            // the sweep from its stored record on the next call (running trials run again) instead of recording it as failed.
            logger.LogWarning("Sweep {Sweep} stops its driver until it is reactivated: {Error}", Id, e.Message);
            DeactivateOnIdle();
        }
        catch (Exception e)
        {
            logger.LogError(e, "Sweep {Sweep} coordinator failed; its running trials are stopped", Id);
            _driverEnding = true;  // a resume meanwhile waits for the end recorded here
            await StopRunningTrialsAsync(e.Message);
            PublishTrialStates();
            record.State = record.State with { State = SweepState.Failed, Error = e.Message };
            await record.WriteRetryingAsync(this, logger, $"Sweep {Id}");
        }
        finally
        {
            DelayDeactivation(TimeSpan.Zero);
        }
        if (record.State.State == SweepState.Running) return;  // stopped for a reactivation that resumes it: still holds its workers
        try { await Scheduler.ReleaseAsync(ISchedulerGrain.SweepHolder(Id)); }
        catch (Exception e) { logger.LogWarning("Sweep {Sweep} could not release its workers ({Error}); the scheduler's check frees them", Id, e.Message); }
    }

    /// <summary>
    /// After the driver failed: cancels the running trials as <see cref="CancelAsync"/> does and waits for them to stop, at
    /// most Sweeps:CancelWait, so that the workers the caller then releases are not still training a trial (their experiments
    /// would go on while the scheduler gives the workers to others). Records how each stopped trial ended (in memory; the
    /// caller writes the record); a trial still stopping after the wait stays running in the record, and a resume runs it again.
    /// </summary>
    private async Task StopRunningTrialsAsync(string failure)
    {
        if (_running.Count == 0) return;
        _cancel.Cancel();
        await _running.WhenAllEndAsync(options.Value.CancelWait);
        var trials = record.State.Trials;
        foreach (var (index, _, outcome) in await _running.TakeEndedAsync())
        {
            Finish(record.State.Spec!, index, outcome, cancelling: true);
            if (trials[index].State == TrialState.Cancelled) trials[index] = trials[index] with { Reason = $"stopped: the sweep failed ({failure})" };
        }
        if (_running.Count > 0)
            logger.LogWarning("Sweep {Sweep}: trials {Trials} still stopping {Wait} after the failure; their workers are released anyway",
                Id, string.Join(", ", _running.Indices.Select(i => trials[i].Name)), options.Value.CancelWait);
    }

    /// <summary>
    /// One loop turn: fill free slots, persist the new launches and the results finished since the last save (one small
    /// entry per trial, <see cref="ISweepTrialGrain"/>), start the launched trials, wait for any to end (or to record a rung
    /// value, which the next turn saves), record every ended one. Finished results are saved before the next trial starts;
    /// the sweep's own record (spec, every trial) is written at start and end only, so a write costs the same with 10
    /// trials or 10,000. Trials a coordinator taking the sweep over finds still going are followed, not launched
    /// (<see cref="SweepTakeover"/>).
    /// </summary>
    private async Task DriveAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();  // leave the calling turn (activation or Start) first
        var spec = record.State.Spec!;
        if (record.State.SpectralSkipPending && !cancellationToken.IsCancellationRequested) await SkipSpectrallyHopelessTrialsAsync(spec, cancellationToken);
        var adopted = await _takeover.AdoptAsync(Id, spec, record.State.Trials, record.State.Workers, cancellationToken);
        var workers = new TrialWorkerPool(record.State.Workers, adopted.SelectMany(a => a.Launch.Workers), spec.WorkersPerTrial, spec.MaxConcurrentTrials);
        var queue = new Queue<int>(record.State.Trials.Where(t => !t.State.IsFinished() && adopted.All(a => a.Launch.Index != t.Index)).Select(t => t.Index));
        _running.Clear();  // what an earlier driver could not stop is running in the record: launched again, it is abandoned
        foreach (var (launch, fromStep) in adopted)
            _running.Add(runner.FollowAsync(launch, fromStep, progress => OnProgress(launch, progress), cancellationToken), launch);
        while (true)
        {
            await LaunchIntoFreeSlotsAsync(spec, workers, queue, cancellationToken);
            if (_running.Count == 0)
            {
                if (_requeued.Count > 0 && !cancellationToken.IsCancellationRequested) continue;  // queued during the save in LaunchIntoFreeSlotsAsync
                break;
            }
            await _running.WhenAnyEndsAsync(_wake.Task);
            foreach (var (index, leased, outcome) in await _running.TakeEndedAsync())
            {
                if (Finish(spec, index, outcome, cancellationToken.IsCancellationRequested)) queue.Enqueue(index);
                workers.Return(leased, outcome.LostWorkers);
            }
        }
        _driverEnding = true;
        await RecordSweepEndAsync(workers, cancellationToken);
    }

    /// <summary>
    /// The first half of a driver turn: queues the trials a resume set back to pending meanwhile, leases workers for queued
    /// trials while slots are free (none once the sweep is cancelled), saves the trials changed since the last save (these
    /// launches and the results recorded last turn), then starts the launches. The save comes before the start: a trial
    /// runs only once its launch is recorded.
    /// </summary>
    private async Task LaunchIntoFreeSlotsAsync(SweepSpec spec, TrialWorkerPool workers, Queue<int> queue, CancellationToken cancellationToken)
    {
        // Trials a resume set back to pending while this driver runs; one it set before the queue was built is there already.
        while (_requeued.TryDequeue(out var again))
            if (record.State.Trials[again].State == TrialState.Pending && !queue.Contains(again)) queue.Enqueue(again);
        var slots = workers.Slots;
        var launches = new List<TrialLaunch>();
        while (_running.Count + launches.Count < slots && queue.Count > 0 && !cancellationToken.IsCancellationRequested)
        {
            var leased = workers.Lease();
            launches.Add(await PrepareLaunchAsync(spec, queue.Dequeue(), leased));
        }
        if (_wake.Task.IsCompleted) _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);  // saved and launched here
        await _trials.SaveAsync();
        foreach (var launch in launches)
            _running.Add(runner.RunAsync(launch, progress => OnProgress(launch, progress), cancellationToken), launch);
    }

    /// <summary>
    /// After the driver's loop: ends the trials still pending (cancelled with the sweep, or failed when too few workers
    /// remain), saves them, and records the sweep cancelled or completed in its whole record. A write that fails leaves the
    /// sweep running, in memory as in storage, and throws.
    /// </summary>
    private async Task RecordSweepEndAsync(TrialWorkerPool workers, CancellationToken cancellationToken)
    {
        var trials = record.State.Trials;
        // Left pending: cancelled, or too few workers remain for a trial (the others' nodes left the cluster).
        var (endState, endReason) = cancellationToken.IsCancellationRequested
            ? (TrialState.Cancelled, TrialTransitions.SweepCancelled)
            : (TrialState.Failed, workers.NoneLeftReason);
        foreach (var pending in trials.Where(t => t.State == TrialState.Pending).ToList())
        {
            trials[pending.Index] = pending with { State = endState, Reason = endReason };
            _trials.Changed(pending.Index);
        }
        await _trials.SaveAsync();
        var running = record.State;
        record.State = record.State with { State = cancellationToken.IsCancellationRequested ? SweepState.Cancelled : SweepState.Completed };
        try
        {
            await record.WriteRetryingAsync(this, logger, $"Sweep {Id}");  // the whole record once more: a finished sweep reads back from one entry
        }
        catch (GrainStateNotWrittenException)
        {
            // Storage still says running: so does this activation until it is replaced, so the driver keeps the sweep's workers
            // (it has not ended as far as anyone reading the record knows), and the next activation resumes it.
            record.State = running;
            throw;
        }
        PublishTrialStates();
        logger.LogInformation("Sweep {Sweep} {State}: {Completed} completed, {Stopped} stopped, {Failed} failed, {Skipped} skipped",
            Id, record.State.State, Count(TrialState.Completed), Count(TrialState.Stopped), Count(TrialState.Failed), Count(TrialState.Skipped));
    }

    /// <summary>Marks the trial running its next attempt on <paramref name="workers"/> (in memory, marked unsaved) and builds
    /// its launch, continuing from its latest checkpoint (<see cref="TrialLauncher"/>).</summary>
    private async Task<TrialLaunch> PrepareLaunchAsync(SweepSpec spec, int index, string[] workers)
    {
        var (launch, running) = await _launcher.PrepareAsync(Id, spec, record.State.Trials[index], workers);
        _progress.Relaunched(index, running.ResumedFromStep ?? 0);
        record.State.Trials[index] = running;
        _trials.Changed(index);
        return launch;
    }

    /// <summary>Runs synchronously on this activation for every step and validation a trial's attempt reports; false stops the
    /// attempt (ASHA, on the loss, or on the validations when the metric is one: <see cref="TrialProgressRecorder"/>). Only
    /// the trial's current attempt, running, is recorded: an abandoned one (still stopping when its driver failed, and the
    /// trial launched again since) would write its steps onto the new attempt and be judged by ASHA as it; it is told to stop.</summary>
    private bool OnProgress(TrialLaunch launch, TrialProgress progress)
    {
        var index = launch.Index;
        if (record.State.Trials[index] is not { State: TrialState.Running } current || current.ExperimentId != launch.ExperimentId)
        {
            logger.LogDebug("Sweep {Sweep}: ignoring step {Step} of {Experiment}, an attempt no longer running", Id, progress.Step, launch.ExperimentId);
            return false;
        }
        var (trial, continues, atRung) = _progress.Record(record.State.Trials[index], progress);
        record.State.Trials[index] = trial;
        if (atRung)
        {
            _trials.Changed(index);  // saved now: a coordinator taking the sweep over judges the others, and this trial, against it
            _wake.TrySetResult();
        }
        return continues;
    }

    /// <summary>Records how the trial ended (in memory; the next turn persists it). A failed trial with retries left under
    /// max_failures goes back to pending instead, to be launched again (from its last checkpoint when it wrote one; ASHA keeps
    /// its rung values up to that step): returns true then.</summary>
    private bool Finish(SweepSpec spec, int index, TrialOutcome outcome, bool cancelling)
    {
        var trial = record.State.Trials[index];
        _trials.Changed(index);
        if (!cancelling && TrialTransitions.Retried(trial, outcome, spec.MaxFailures) is { } retried)
        {
            logger.LogWarning("Sweep {Sweep}: trial {Trial} attempt {Attempt} failed ({Error}); launching it again (retry {Retry} of {MaxFailures})",
                Id, trial.Name, trial.Attempt, outcome.Error, retried.Failures, spec.MaxFailures);
            record.State.Trials[index] = retried;
            return true;
        }
        var ended = TrialTransitions.Ended(spec, trial, outcome, DateTime.UtcNow);
        // Marked as the sweep's cancel ended it, whatever the runner said (EndedBySweepCancel): a trial's own cancel differs.
        if (cancelling && ended.State == TrialState.Cancelled) ended = ended with { Reason = TrialTransitions.SweepCancelled };
        record.State.Trials[index] = ended;
        return false;
    }

    private void PublishTrialStates() => metrics.RecordSweepTrials(Id, record.State.Trials.Select(t => t.State));

    private int Count(TrialState state) => record.State.Trials.Count(t => t.State == state);

    private SweepStatus Status() => new(Id, record.State.State, record.State.Spec, [.. record.State.Trials], record.State.Error);
}
