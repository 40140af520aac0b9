using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
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
/// (<see cref="AdoptAsync"/>), other interrupted ones are launched again. A driver that fails stops its running
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
    /// <summary>How long further tries of a trial save whose grain's node is being lost may start (<see cref="SaveTrialsAsync"/>):
    /// longer than the membership takes to declare a dead node (Node:FailureDetection: 16 s at most by default; Orleans' own
    /// defaults about 30 s), after which the grain is activated on another node.</summary>
    private static readonly TimeSpan SaveRetryFor = TimeSpan.FromSeconds(45);

    /// <summary>The pauses before those further tries.</summary>
    private static readonly TimeSpan[] SaveRetryDelays =
        [TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(15)];

    private CancellationTokenSource _cancel = new();
    private readonly HashSet<int> _unsaved = [];
    private readonly Dictionary<Task<TrialOutcome>, (int Index, string[] Workers)> _running = [];  // the driver's trials, by their runs
    private readonly Queue<int> _requeued = [];  // failed trials a resume asked to run again while the driver runs
    private Task _driver = Task.CompletedTask;
    private bool _driverEnding;  // the driver left its loop: what is queued now would not run
    private AshaRungs? _asha;
    /// <summary>Completed when the driver has work besides a trial ending: a rung value a running trial recorded, to save,
    /// or trials a resume queued again, to launch in free slots.</summary>
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _saving = Task.CompletedTask;  // the latest SaveTrialsAsync

    private string Id => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (record.State.State == SweepState.Running)
        {
            await LoadTrialsAsync();
            var interrupted = record.State.Trials.Count(t => t.State == TrialState.Running);
            logger.LogWarning("Sweep {Sweep} resumes: {Finished} trials finished, {Interrupted} were running (followed if their experiment completed or still runs, else launched again)",
                Id, record.State.Trials.Count(t => t.State.IsFinished()), interrupted);
            record.State = record.State with { Resumes = record.State.Resumes + 1 };
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
        // trial. Each experiment checks its own again where it starts.
        if (runnable.SelectMany(r => paths.Refusals(r.Spec)).Distinct().ToList() is { Count: > 0 } refused) throw Invalid(refused);
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
        }
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
            await SaveTrialsAsync();
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
        await SaveTrialsAsync();  // before the record: a resuming coordinator lays the trials' own entries over it
        await record.WriteRetryingAsync(this, logger, $"Sweep {Id}");
        if (_cancel.IsCancellationRequested)
        {
            _cancel.Dispose();  // the driver that used it has ended; a trial still stopping keeps its cancelled token
            _cancel = new CancellationTokenSource();
        }
        StartDriver();
        return Status();
    }

    /// <summary>Sets the trials in <paramref name="state"/> back to pending (in memory, marked unsaved) and returns them. A trial
    /// launched again by a resume gets max_failures automatic retries afresh, as Ray Tune counts failures after a restore;
    /// its rung values are kept up to the checkpoint it continues from (<see cref="PrepareLaunchAsync"/>).</summary>
    private List<int> Again(TrialState state, string why)
    {
        var trials = record.State.Trials;
        var again = trials.Where(t => t.State == state).Select(t => t.Index).ToList();
        foreach (var index in again)
        {
            var trial = trials[index];
            trials[index] = trial with
            {
                State = TrialState.Pending,
                Failures = 0,
                Reason = state == TrialState.Failed ? $"attempt {trial.Attempt} failed ({trial.Reason}); launched again ({why})" : null,
            };
            _unsaved.Add(index);
        }
        return again;
    }

    private static List<(int Index, ExperimentSpec Spec)> RunnableTrials(SweepSpec spec, IEnumerable<TrialResult> trials) =>
        [.. trials.Where(t => t.State == TrialState.Pending).Select(t => (t.Index, TrialPlanner.SpecFor(spec, t.Name, t.Parameters)))];

    /// <summary>
    /// spectral_skip (PAPERS.md §2): the label analysis runs here, in the driver, not in Start: on full-resolution labels
    /// it takes longer than a grain call may (Orleans' 30 s response timeout), and the client would see a failed start of
    /// a sweep that then ran. Recorded before the first trial starts, so a resumed sweep analyses again only if it had not.
    /// </summary>
    private async Task SkipSpectrallyHopelessTrialsAsync(SweepSpec spec, CancellationToken cancellationToken)
    {
        var trials = record.State.Trials;
        logger.LogInformation("Sweep {Sweep}: analysing {Images} label images for spectral_skip", Id, spec.SpectralSkip!.Images);
        IReadOnlyDictionary<int, string> skipped;
        try
        {
            skipped = await spectral.SkipAsync(spec, RunnableTrials(spec, trials), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;  // cancelled while analysing: the driver ends every pending trial as cancelled
        }
        foreach (var (index, reason) in skipped)
            trials[index] = trials[index] with { State = TrialState.Skipped, Reason = reason };
        record.State = record.State with { SpectralSkipPending = false };
        await record.WriteRetryingAsync(this, logger, $"Sweep {Id}");
        PublishTrialStates();
    }

    /// <summary>Why the trial's combination of values cannot run (the experiment spec's own errors), or null.</summary>
    private void StartDriver()
    {
        // Keep this activation (and the driver on it) alive while trials run without calls to the grain, however long
        // the sweep takes; the driver's end gives it back to the regular collection age.
        DelayDeactivation(Timeout.InfiniteTimeSpan);
        _asha = CreateAsha(record.State.Spec!);
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
        await Task.WhenAll(_running.Keys.Cast<Task>()).WaitAsync(options.Value.CancelWait)
            .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);  // outcomes read below
        var trials = record.State.Trials;
        foreach (var (done, (index, _)) in _running.Where(r => r.Key.IsCompleted).ToList())
        {
            _running.Remove(done);
            Finish(record.State.Spec!, index, await OutcomeOf(done), cancelling: true);
            if (trials[index].State == TrialState.Cancelled) trials[index] = trials[index] with { Reason = $"stopped: the sweep failed ({failure})" };
        }
        if (_running.Count > 0)
            logger.LogWarning("Sweep {Sweep}: trials {Trials} still stopping {Wait} after the failure; their workers are released anyway",
                Id, string.Join(", ", _running.Values.Select(r => trials[r.Index].Name)), options.Value.CancelWait);
    }

    private AshaRungs? CreateAsha(SweepSpec spec)
    {
        if (spec.Search.Kind != SearchSpec.Asha) return null;
        var asha = new AshaRungs(spec.Search.MinBudget, spec.Search.ReductionFactor, spec.Search.Rungs, spec.Maximize);
        // Every trial's, also one interrupted or cancelled: launched again, it keeps those up to its checkpoint (PrepareLaunchAsync).
        foreach (var trial in record.State.Trials)
        {
            foreach (var rung in trial.Rungs) asha.Restore(trial.Index, rung.Step, rung.Value);
            // An attempt followed on (AdoptAsync) that continued from a checkpoint is not judged at rungs before it either.
            if (trial.ResumedFromStep is { } resumed) asha.ResumedFrom(trial.Index, resumed);
        }
        return asha;
    }

    /// <summary>
    /// One loop turn: fill free slots, persist the new launches and the results finished since the last save (one small
    /// entry per trial, <see cref="ISweepTrialGrain"/>), start the launched trials, wait for any to end (or to record a rung
    /// value, which the next turn saves), record every ended one. Finished results are saved before the next trial starts; the sweep's own record (spec, every trial)
    /// is written at start and end only, so a write costs the same with 10 trials or 10,000.
    /// </summary>
    private async Task DriveAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();  // leave the calling turn (activation or Start) first
        var spec = record.State.Spec!;
        if (record.State.SpectralSkipPending && !cancellationToken.IsCancellationRequested) await SkipSpectrallyHopelessTrialsAsync(spec, cancellationToken);
        var adopted = await AdoptAsync(spec, cancellationToken);
        var free = new Queue<string>(record.State.Workers.Except(adopted.SelectMany(a => a.Launch.Workers)));
        var lost = new List<string>();  // workers whose node left the cluster: never leased again
        var queue = new Queue<int>(record.State.Trials.Where(t => !t.State.IsFinished() && adopted.All(a => a.Launch.Index != t.Index)).Select(t => t.Index));
        _running.Clear();  // a field, as a failure of this loop stops them; what an earlier driver could not stop a resume abandoned
        foreach (var (launch, fromStep) in adopted)
            _running.Add(runner.FollowAsync(launch, fromStep, progress => OnProgress(spec, launch.Index, progress), cancellationToken), (launch.Index, [.. launch.Workers]));
        while (true)
        {
            // Trials a resume set back to pending while this driver runs; one it set before the queue above was built is there already.
            while (_requeued.TryDequeue(out var again))
                if (record.State.Trials[again].State == TrialState.Pending && !queue.Contains(again)) queue.Enqueue(again);
            var slots = Math.Min(spec.MaxConcurrentTrials, (record.State.Workers.Count - lost.Count) / spec.WorkersPerTrial);
            var launches = new List<TrialLaunch>();
            while (_running.Count + launches.Count < slots && queue.Count > 0 && !cancellationToken.IsCancellationRequested)
            {
                var workers = Enumerable.Range(0, spec.WorkersPerTrial).Select(_ => free.Dequeue()).ToArray();
                launches.Add(await PrepareLaunchAsync(spec, queue.Dequeue(), workers));
            }
            if (_wake.Task.IsCompleted) _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);  // saved and launched above
            await SaveTrialsAsync();
            foreach (var launch in launches)
                _running.Add(runner.RunAsync(launch, progress => OnProgress(spec, launch.Index, progress), cancellationToken), (launch.Index, [.. launch.Workers]));
            if (_running.Count == 0)
            {
                if (_requeued.Count > 0 && !cancellationToken.IsCancellationRequested) continue;  // queued during the save above
                break;
            }
            await Task.WhenAny(_running.Keys.Append<Task>(_wake.Task));
            foreach (var done in _running.Keys.Where(t => t.IsCompleted).ToList())
            {
                var (index, leased) = _running[done];
                _running.Remove(done);
                var outcome = await OutcomeOf(done);
                if (Finish(spec, index, outcome, cancellationToken.IsCancellationRequested)) queue.Enqueue(index);
                foreach (var worker in leased)
                {
                    if (outcome.LostWorkers?.Contains(worker) != true) free.Enqueue(worker);
                    else lost.Add(worker);
                }
            }
        }
        _driverEnding = true;
        var trials = record.State.Trials;
        // Left pending: cancelled, or too few workers remain for a trial (the others' nodes left the cluster).
        var (endState, endReason) = cancellationToken.IsCancellationRequested
            ? (TrialState.Cancelled, "the sweep was cancelled")
            : (TrialState.Failed, $"no workers left to run it: the nodes of {string.Join(", ", lost)} left the cluster, and the {record.State.Workers.Count - lost.Count} remaining of the sweep's {record.State.Workers.Count} workers cannot make a trial of {spec.WorkersPerTrial}");
        foreach (var pending in trials.Where(t => t.State == TrialState.Pending).ToList())
        {
            trials[pending.Index] = pending with { State = endState, Reason = endReason };
            _unsaved.Add(pending.Index);
        }
        await SaveTrialsAsync();
        record.State = record.State with { State = cancellationToken.IsCancellationRequested ? SweepState.Cancelled : SweepState.Completed };
        await record.WriteRetryingAsync(this, logger, $"Sweep {Id}");  // the whole record once more: a finished sweep reads back from one entry
        PublishTrialStates();
        logger.LogInformation("Sweep {Sweep} {State}: {Completed} completed, {Stopped} stopped, {Failed} failed, {Skipped} skipped",
            Id, record.State.State, Count(TrialState.Completed), Count(TrialState.Stopped), Count(TrialState.Failed), Count(TrialState.Skipped));
    }

    /// <summary>
    /// A driver that takes a sweep over (a new activation from storage after its node was lost, or a resume after its process
    /// was killed) first asks what became of each trial recorded running: its experiment is a grain of its own and trains on
    /// without a coordinator. One that completed meanwhile, or still runs, on workers of the sweep no other such trial has,
    /// is adopted: followed as the same attempt on its workers from the steps the trial recorded (ASHA and the curves get
    /// what comes after; a completed one ends at the first poll). Launched again instead, a completed trial trained twice and
    /// a running one was killed, losing its steps since its last checkpoint. One that failed, was cancelled, or cannot say
    /// is launched again from its checkpoint (<see cref="PrepareLaunchAsync"/>).
    /// </summary>
    private async Task<List<(TrialLaunch Launch, int FromStep)>> AdoptAsync(SweepSpec spec, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return [];
        var sweepWorkers = record.State.Workers.ToHashSet();
        var left = record.State.Trials
            .Where(t => t is { State: TrialState.Running, ExperimentId: not null } && t.Workers.Count == spec.WorkersPerTrial && t.Workers.All(sweepWorkers.Contains))
            .ToList();
        var states = await Task.WhenAll(left.Select(t => runner.StateOfAsync(t.ExperimentId!)));
        var adopted = new List<(TrialLaunch, int)>();
        var leased = new HashSet<string>();
        foreach (var (trial, state) in left.Zip(states))
        {
            if (state is not (ExperimentState.Completed or ExperimentState.Pending or ExperimentState.Running) || trial.Workers.Any(leased.Contains)) continue;
            // A completed experiment's losses live in its activation's memory only: one reactivated after the outage has
            // none, and a trial ranked by loss would end without a metric. Its evaluation is stored, so other metrics adopt it.
            if (state == ExperimentState.Completed && spec.Metric == SweepSpec.Loss) continue;
            leased.UnionWith(trial.Workers);
            var trialSpec = TrialPlanner.SpecFor(spec, trial.Name, trial.Parameters);
            if (trialSpec.Training.ResumeFrom is null && trial.ResumedFromPath is { } path) trialSpec = ResumingFrom(trialSpec, path);
            adopted.Add((new TrialLaunch(Id, trial.Index, trial.ExperimentId!, trialSpec, trial.Workers), trial.Steps));
            logger.LogInformation("Sweep {Sweep}: trial {Trial} ({Experiment}, {State}) went on while the sweep had no coordinator; followed from step {Step}, not launched again",
                Id, trial.Name, trial.ExperimentId, state, trial.Steps);
        }
        return adopted;
    }

    private static ExperimentSpec ResumingFrom(ExperimentSpec spec, string checkpoint) => spec with { Training = spec.Training with { ResumeFrom = checkpoint } };

    /// <summary>Marks the trial running on <paramref name="workers"/> (in memory; the caller persists) and builds its launch.</summary>
    private async Task<TrialLaunch> PrepareLaunchAsync(SweepSpec spec, int index, string[] workers)
    {
        var trial = record.State.Trials[index];
        if (trial.State == TrialState.Running && trial.ExperimentId is { } lost)
            await runner.AbandonAsync(lost);
        var trialSpec = TrialPlanner.SpecFor(spec, trial.Name, trial.Parameters);
        // A trial launched again (interrupted, cancelled, failed) continues from its latest checkpoint, if it has one
        // (training.checkpoint_every), as Ray Tune restores trials. Its rung values up to that step stand and it is
        // not judged again at those rungs; those past it are dropped (the new attempt trains those steps again).
        var checkpoint = trialSpec.Training.ResumeFrom is null ? await LatestCheckpointAsync(trial) : null;
        if (checkpoint is not null) trialSpec = ResumingFrom(trialSpec, checkpoint.Path);
        var resumedFrom = checkpoint?.Step ?? 0;
        _asha?.Relaunch(index, resumedFrom);
        var attempt = trial.Attempt + 1;
        var experimentId = $"{Id}/{trial.Name}/a{attempt}";
        record.State.Trials[index] = trial = trial with
        {
            State = TrialState.Running, Attempt = attempt, ExperimentId = experimentId, Workers = workers,
            StartedAt = DateTime.UtcNow, Curve = [], Validations = [], Steps = resumedFrom,
            // Nothing of the earlier attempt's result: a running trial shows none (a stale FinishedAt gave negative seconds),
            // and one that ends without a value of its own must not rank with the earlier attempt's.
            Metric = null, FinalLoss = null, MeanIoU = null, PixelAccuracy = null, FinishedAt = null,
            // A List, not [.. ]: Redis storage's JSON names a list's type, and the compiler's own read-only list type does not resolve.
            Rungs = trial.Rungs.Where(r => r.Step <= resumedFrom).ToList(),
            ResumedFromStep = checkpoint?.Step, ResumedFromPath = checkpoint?.Path,
        };
        _unsaved.Add(index);
        return new TrialLaunch(Id, index, experimentId, trialSpec, workers);
    }

    /// <summary>The trial's latest checkpoint: its last attempt's last one, or, when that attempt wrote none (it failed before
    /// its first checkpoint_every steps), the one it continued from; null when it has none.</summary>
    private async Task<CheckpointRecord?> LatestCheckpointAsync(TrialResult trial) =>
        (trial.ExperimentId is { } previous ? await runner.LastCheckpointAsync(previous) : null)
        ?? (trial is { ResumedFromStep: { } step, ResumedFromPath: { } path } ? new CheckpointRecord(step, path) : null);

    /// <summary>Runs synchronously on this activation for every step and validation a trial reports; false stops the trial
    /// (ASHA, on the loss, or on the validations when the metric is one: <see cref="SweepSpec.ValidatesAtRungs"/>).</summary>
    private bool OnProgress(SweepSpec spec, int index, TrialProgress progress)
    {
        var trial = record.State.Trials[index];
        double? compared;  // the value of the sweep's metric this report carries, if any
        if (progress.Validation is { } validation)
        {
            compared = spec.ValueOf(validation);
            if (compared is not { } value) return true;
            trial = trial with { Validations = Thin(trial.Validations, new CurvePoint(progress.Step, value), options.Value.MaxCurvePoints), Metric = value };
        }
        else
        {
            compared = spec.Metric == SweepSpec.Loss ? progress.Loss : null;
            trial = trial with
            {
                Steps = Math.Max(trial.Steps, progress.Step),
                Curve = Thin(trial.Curve, new CurvePoint(progress.Step, progress.Loss), options.Value.MaxCurvePoints),
                Metric = compared ?? trial.Metric,
            };
        }
        int? rung = null;
        var decision = compared is { } reported && _asha is not null ? _asha.Report(index, progress.Step, reported, out rung) : AshaDecision.Continue;
        if (_asha is not null && rung is { } milestone)
        {
            trial = trial with { Rungs = trial.Rungs.Append(new CurvePoint(milestone, compared!.Value)).ToList() };
            // Saved now, not when the trial ends: a coordinator that takes the sweep over must judge the others, and this
            // trial launched again from a checkpoint, against it.
            _unsaved.Add(index);
            _wake.TrySetResult();
            if (decision == AshaDecision.Stop)
                trial = trial with
                {
                    Reason = string.Create(CultureInfo.InvariantCulture,
                        $"ASHA: {spec.Metric} {compared:F4} at the {milestone}-step rung is not in the top 1/{spec.Search.ReductionFactor} of the {_asha.RecordedAt(_asha.Milestones.ToList().IndexOf(milestone)).Count - 1} trials recorded there"),
                };
        }
        record.State.Trials[index] = trial;
        return decision == AshaDecision.Continue;
    }

    /// <summary>Records how the trial ended (in memory; the next turn persists it). A failed trial with retries left under
    /// max_failures goes back to pending instead, to be launched again (from its last checkpoint when it wrote one; ASHA keeps
    /// its rung values up to that step): returns true then.</summary>
    private bool Finish(SweepSpec spec, int index, TrialOutcome outcome, bool cancelling)
    {
        var trial = record.State.Trials[index];
        _unsaved.Add(index);
        if (outcome.State == TrialState.Failed && trial.Failures < spec.MaxFailures && !cancelling)
        {
            var retry = trial.Failures + 1;
            logger.LogWarning("Sweep {Sweep}: trial {Trial} attempt {Attempt} failed ({Error}); launching it again (retry {Retry} of {MaxFailures})",
                Id, trial.Name, trial.Attempt, outcome.Error, retry, spec.MaxFailures);
            record.State.Trials[index] = trial with
            {
                State = TrialState.Pending, Failures = retry,
                Reason = $"attempt {trial.Attempt} failed ({outcome.Error}); launched again (retry {retry} of max_failures {spec.MaxFailures})",
            };
            return true;
        }
        var evaluation = outcome.Evaluation;
        // This attempt's own values only (PrepareLaunchAsync cleared the earlier attempt's): a diverged (NaN) loss is no
        // result and ranks nowhere, whatever an earlier attempt reached.
        double? loss = double.IsNaN(outcome.FinalLoss) ? null : outcome.FinalLoss;
        record.State.Trials[index] = trial with
        {
            State = outcome.State,
            Steps = Math.Max(trial.Steps, outcome.Steps),
            FinalLoss = loss,
            MeanIoU = evaluation?.MeanIoU,
            PixelAccuracy = evaluation?.PixelAccuracy,
            // A trial stopped early keeps its last validation's value (ASHA on a validation metric), if it had one.
            Metric = spec.Metric == SweepSpec.Loss ? loss
                : (evaluation is null ? null : spec.ValueOf(evaluation)) ?? (outcome.State == TrialState.Stopped ? trial.Metric : null),
            Reason = outcome.Error ?? trial.Reason,
            FinishedAt = DateTime.UtcNow,
        };
        return false;
    }

    /// <summary>
    /// Persists every trial changed since the last call, each to its own small entry (not the whole record). A trial stays
    /// marked unsaved until a save of it succeeds. Saves that fail because a trial grain's node is being lost (timed out or
    /// rejected: <see cref="GrainRelocation.InProgress"/>, what the trial runner polls through) are tried again after the
    /// pauses of <see cref="SaveRetryDelays"/> while <see cref="SaveRetryFor"/> lasts (a save that times out takes the 30 s call
    /// timeout itself, so a count of tries alone let it run for minutes); any other failure, or the last, reaches the caller.
    /// One save runs at a time: a call while one is in flight (a resume's beside the driver's) waits for it, then saves
    /// what is still unsaved. Two at once could store a trial's older state last (the driver's save of a failed trial
    /// landing after the resume's save of it pending), and the resume returned before the earlier save was done.
    /// </summary>
    private Task SaveTrialsAsync() => _saving = SaveAfterAsync(_saving);

    private async Task SaveAfterAsync(Task inFlight)
    {
        await inFlight.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);  // its failure is its caller's
        PublishTrialStates();
        var attempt = 0;
        var giveUp = DateTime.UtcNow + SaveRetryFor;
        while (_unsaved.Count > 0)
        {
            var saving = _unsaved.ToList();
            _unsaved.Clear();  // a trial changed while its save runs is marked again, and saved by the next pass
            var saves = Task.WhenAll(saving.Select(i => GrainFactory.GetGrain<ISweepTrialGrain>(ISweepTrialGrain.Key(Id, i)).SaveAsync(record.State.Trials[i])));
            try
            {
                await saves;
            }
            catch (Exception e)
            {
                _unsaved.UnionWith(saving);
                if (attempt == SaveRetryDelays.Length || DateTime.UtcNow + SaveRetryDelays[attempt] > giveUp
                    || saves.Exception?.InnerExceptions.All(GrainRelocation.InProgress) != true) throw;
                logger.LogWarning("Sweep {Sweep} could not save {Trials} trial results ({Error}); trying again in {Delay}", Id, saving.Count, e.Message, SaveRetryDelays[attempt]);
                await Task.Delay(SaveRetryDelays[attempt++]);
            }
        }
    }

    /// <summary>Overlays the trial results saved after the record was last written (a resuming coordinator).</summary>
    private async Task LoadTrialsAsync()
    {
        var trials = record.State.Trials;
        var saved = await Task.WhenAll(trials.Select(t => GrainFactory.GetGrain<ISweepTrialGrain>(ISweepTrialGrain.Key(Id, t.Index)).GetAsync()));
        foreach (var result in saved.OfType<TrialResult>()) trials[result.Index] = result;
    }

    private void PublishTrialStates() => metrics.RecordSweepTrials(Id, record.State.Trials.Select(t => t.State));

    private static async Task<TrialOutcome> OutcomeOf(Task<TrialOutcome> done)
    {
        try
        {
            return await done;
        }
        catch (Exception e)
        {
            return new TrialOutcome(TrialState.Failed, 0, double.NaN, Error: $"the trial runner threw: {e.Message}");
        }
    }

    /// <summary>Appends <paramref name="point"/>; past <paramref name="max"/> points every other older point is dropped,
    /// so a trial's persisted curve stays small however many steps it runs.</summary>
    private static List<CurvePoint> Thin(IReadOnlyList<CurvePoint> curve, CurvePoint point, int max) =>
        (curve.Count < max ? curve : curve.Where((_, i) => i % 2 == 1)).Append(point).ToList();

    private int Count(TrialState state) => record.State.Trials.Count(t => t.State == state);

    private SweepStatus Status() => new(Id, record.State.State, record.State.Spec, [.. record.State.Trials], record.State.Error);
}
