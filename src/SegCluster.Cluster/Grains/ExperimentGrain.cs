using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Telemetry;
using SegCluster.Cluster.Training;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// Coordinates one training run: validates the spec, assigns ranks to workers, collects their step reports,
/// checkpoints and results. Its record is persisted on every transition. When a rank of a scheduled
/// experiment fails (a worker or node lost, the ring timed out), the ring is re-formed on a new gang from the
/// scheduler and resumes from the last checkpoint (torchft-style: a failure costs at most one interval).
/// </summary>
public sealed class ExperimentGrain(
    [PersistentState("experiment", ClusterStorage.Experiments)] IPersistentState<ExperimentRecord> record,
    SegClusterMetrics metrics,
    ILocalSiloDetails silo,
    [FromKeyedServices(ExperimentGrain.Clock)] TimeProvider time,
    IOptions<ExperimentOptions> options,
    SpecPathPolicy paths,
    ILogger<ExperimentGrain> logger) : Grain, IExperimentGrain
{
    /// <summary>Service key of the clock the coordinator measures training time and times its storage retries by. Its own,
    /// not the silo's unkeyed TimeProvider, which Orleans runs its timers, timeouts and failure detection on: a test's fake
    /// clock moves this one alone.</summary>
    public const string Clock = "segcluster-experiment-clock";

    /// <summary>Re-formations before the experiment is declared failed (a spec that crashes every time).</summary>
    public const int MaxRecoveries = 5;
    private static readonly TimeSpan CancelTimeout = TimeSpan.FromSeconds(5);
    /// <summary>How often a re-formation whose scheduler call failed is tried again (the scheduler may be moving
    /// off a lost node; Orleans needs a few failure-detection rounds to declare it dead).</summary>
    private static readonly TimeSpan ReformRetry = TimeSpan.FromSeconds(3);
    /// <summary>How long the watchdog waits for a worker's answer: the grain is not reentrant, so other calls wait as long.</summary>
    private static readonly TimeSpan WatchdogProbeTimeout = TimeSpan.FromSeconds(3);
    /// <summary>The watchdog's first check after a (re)activation with a formed ring: a coordinator that moved off a lost
    /// node finds ranks whose worker activations went with that node's directory entries without waiting a whole period.</summary>
    private static readonly TimeSpan WatchdogAfterActivation = TimeSpan.FromSeconds(2);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly RunProgress _progress = new();  // step, loss curve and throughput of the step reports
    private IGrainTimer? _reformRetry;
    private IGrainTimer? _watchdog;
    /// <summary>Set by <see cref="StartAsync"/> before its first await (the preflight) until it launched or was refused: the
    /// scheduler reads it when its start call timed out, and keeps the gang of a start that is still going on.</summary>
    private bool _starting;
    private readonly EarlierBestChecker _earlierBest = new(paths, time);  // whether a status may point at the resumed-from run's best

    private string Id => this.GetPrimaryKeyString();

    /// <summary>True while a scheduled run has no ring: between a failure and the scheduler's answer.</summary>
    private bool AwaitingGang => record.State is { State: ExperimentState.Running, Scheduled: true, Workers.Count: 0, Spec: not null };

    /// <summary>True while a ring is formed and running: what the watchdog checks.</summary>
    private bool RingRunning => record.State is { State: ExperimentState.Running, Workers.Count: > 0, Spec: not null };

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _progress.Restore(record.State.Images, record.State.TrainingTime);
        // An unfinished run is counted by the node its coordinator is active on (SegClusterMetrics.ForgetCoordinator).
        if (record.State.Spec is not null && !record.State.State.IsFinal()) metrics.RecordExperimentState(Id, record.State.State);
        // The previous activation died between releasing its ring and hearing back from the scheduler.
        if (AwaitingGang) RetryReformLater();
        if (RingRunning) StartWatchdog(TimeSpan.FromTicks(Math.Min(WatchdogAfterActivation.Ticks, options.Value.WatchdogInterval.Ticks)));
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.ForgetCoordinator(Id);
        return Task.CompletedTask;
    }

    public async Task<ExperimentStatus> StartAsync(ExperimentSpec spec, IReadOnlyList<string> workerIds, bool scheduled = false)
    {
        if (record.State.State != ExperimentState.Pending || record.State.Spec is not null)
            throw new InvalidOperationException($"Experiment '{Id}' was already started (state {record.State.State}).");
        // Starting before the preflight's await: the record says Pending until the launch, and a scheduler whose call timed
        // out during a slow preflight (a large dataset folder, a checkpoint to read) would free the gang this start then launches on.
        _starting = true;
        try { await CheckAndLaunchAsync(spec, workerIds, scheduled); }
        finally { _starting = false; }
        return await StatusAsync();
    }

    private async Task CheckAndLaunchAsync(ExperimentSpec spec, IReadOnlyList<string> workerIds, bool scheduled)
    {
        // A dataset on disk decides the class and sample counts: resolve them before anything depends on them.
        (spec, var resumedFrom, var errors, var note, var resumedBest) = await ExperimentPreflight.CheckAsync(spec, paths);
        if (RunIds.Problem(Id) is { } badId) errors.Add(badId);  // every run, scheduled, swept or embedded, starts here
        if (workerIds.Count != spec.Workers)
            errors.Add($"workers: the spec asks for {spec.Workers} workers but {workerIds.Count} were given.");
        if (workerIds.Distinct().Count() != workerIds.Count)
            errors.Add("workers: the same worker was given twice; a worker runs one rank.");
        if (errors.Count > 0)
        {
            var refusal = $"Experiment '{Id}' has an invalid spec:\n  - {string.Join("\n  - ", errors)}";
            // A scheduled run was accepted (and maybe queued) by the scheduler: its submitter polls this id, so the
            // refusal is recorded, or the run would look queued forever. An unscheduled caller gets the error itself.
            if (scheduled)
            {
                record.State = new ExperimentRecord { Spec = spec, Scheduled = true };
                await FinishAsync(ExperimentState.Failed, refusal);
            }
            throw new ArgumentException(refusal);
        }

        if (note is not null) logger.LogWarning("Experiment {Experiment}: {Note}", Id, note);
        // The best rank 0 will seed its best with (PeriodicValidation.ResumedBest), from the header the preflight checked.
        var earlierBest = resumedBest is { } best ? new EarlierBest(best.Metric, best.Score, best.Step, best.Path) : null;
        record.State = new ExperimentRecord { Spec = spec, Scheduled = scheduled, ResumedFrom = resumedFrom, EarlierBest = earlierBest };
        await LaunchAsync(workerIds, throwOnFailure: true);
    }

    public async Task ResumeAsync(IReadOnlyList<string> workerIds)
    {
        if (record.State.State.IsFinal() || record.State.Spec is null) return;
        // A retried ReformAsync already formed the ring: the gang of this stale resume (a queue entry left from an earlier
        // re-formation) is allocated to this run all the same, so it goes back, or the experiments queued behind it starve.
        if (record.State.Workers.Count > 0)
        {
            logger.LogInformation("Experiment {Experiment} ignores a stale resume on {Workers}: it runs on {Ring}",
                Id, string.Join(", ", workerIds), string.Join(", ", record.State.Workers));
            var unused = workerIds.Except(record.State.Workers).ToList();
            if (unused.Count == 0) return;
            // Once: if the call is lost, the scheduler's next check finds this run on its ring and returns the rest for it.
            try { await GrainFactory.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).ReturnAsync(Id, unused); }
            catch (Exception e) { logger.LogWarning("Experiment {Experiment} could not give back {Workers} ({Error})", Id, string.Join(", ", unused), e.Message); }
            return;
        }
        await LaunchAsync(workerIds, throwOnFailure: false);
    }

    public async Task WorkersLostAsync(IReadOnlyList<string> workerIds)
    {
        var lost = record.State.Workers.Intersect(workerIds).ToList();
        if (lost.Count == 0) return;
        await ReportFailedAsync(record.State.Workers.IndexOf(lost[0]), record.State.Attempt, $"worker {lost[0]}'s node left the cluster");
    }

    public Task<ExperimentStatus> GetStatusAsync() => StatusAsync();

    public async Task CancelAsync()
    {
        if (record.State.State.IsFinal()) return;
        await FinishAsync(ExperimentState.Cancelled, error: null);
    }

    public Task ReportStepAsync(StepReport report)
    {
        // Interleaved with re-formation's awaits: a late report of the broken ring (same attempt, workers already
        // cleared) or of a finished run must not move the step or the throughput.
        if (report.Attempt != record.State.Attempt || record.State.Workers.Count == 0 || record.State.State.IsFinal()) return Task.CompletedTask;
        _progress.Add(report, time.GetUtcNow());
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<CurvePoint>> GetLossesAsync(int afterStep) => Task.FromResult(_progress.LossesAfter(afterStep));

    public async Task<bool> ReportCheckpointAsync(int attempt, CheckpointRecord checkpoint)
    {
        if (attempt != record.State.Attempt || record.State.State.IsFinal()) return false;
        record.State = record.State with { Checkpoint = checkpoint };
        await WriteAsync();
        return true;
    }

    public async Task ReportValidationAsync(int attempt, ValidationPoint validation, CheckpointRecord? best)
    {
        if (attempt != record.State.Attempt || record.State.State.IsFinal()) return;
        // A re-formed ring validates the redone steps again: keep one point per step, the latest.
        var validations = record.State.Validations.Where(v => v.Step != validation.Step).Append(validation).OrderBy(v => v.Step).ToList();
        record.State = record.State with { Validations = validations, BestCheckpoint = best ?? record.State.BestCheckpoint };
        await WriteAsync();
    }

    public async Task ReportCompletedAsync(int rank, int attempt, EvaluationReport? evaluation)
    {
        if (record.State.State.IsFinal() || attempt != record.State.Attempt) return;
        // Persisted, not kept in memory: rank 0 completes after its final evaluation, by which time this grain may
        // have been deactivated or moved, and the other ranks' completions must still count.
        var completed = record.State.CompletedRanks.Contains(rank) ? record.State.CompletedRanks : [.. record.State.CompletedRanks, rank];
        record.State = record.State with { CompletedRanks = completed, Evaluation = evaluation ?? record.State.Evaluation };
        if (completed.Count < record.State.Workers.Count)
        {
            await WriteAsync();
            return;
        }
        logger.LogInformation("Experiment {Experiment} completed: mIoU {MeanIoU:F4}", Id, record.State.Evaluation?.MeanIoU);
        await FinishAsync(ExperimentState.Completed, error: null);
    }

    public Task ReportFailedAsync(int rank, int attempt, string error, bool retryable = true) =>
        FailAttemptAsync(attempt, $"rank {rank}: {error}", retryable);

    /// <summary>Fails the attempt: re-forms the ring, or ends the run when the failure is not retryable, the run was not
    /// scheduled, or its re-formations are spent. <paramref name="cause"/> says who failed and how.</summary>
    private async Task FailAttemptAsync(int attempt, string cause, bool retryable = true)
    {
        // A ring that is not formed (waiting for workers) or an older formation has nothing left to fail.
        if (record.State.State.IsFinal() || attempt != record.State.Attempt || record.State.Workers.Count == 0) return;
        if (!retryable || !record.State.Scheduled || record.State.Recoveries >= MaxRecoveries)
        {
            var reason = !record.State.Scheduled ? "" : !retryable ? " (not retried: a new ring would fail the same way)" : $" (after {MaxRecoveries} re-formations)";
            await FinishAsync(ExperimentState.Failed, cause + reason);
            return;
        }
        await RecoverAsync(cause);
    }

    // A rank that completed (its worker deactivated before the loop task ended) has nothing left to fail.
    public Task RankStoppedAsync(int rank, int attempt, string reason) =>
        record.State.CompletedRanks.Contains(rank) && attempt == record.State.Attempt ? Task.CompletedTask : ReportFailedAsync(rank, attempt, reason);

    /// <summary>
    /// The watchdog: a rank whose loop vanished without a report (its worker activation was lost, the loop was cancelled
    /// by someone else) would leave the run waiting for step reports for ever. Asks each worker of the ring what it runs;
    /// one that says it does not run its rank of this attempt, and whose rank has not completed, fails the attempt as the
    /// rank's own report would: with the failure its loop ended with, if it failed (so a lost report of a NaN loss still
    /// ends the run instead of re-forming it), else as retryable. A timer tick is not interleaved with other calls, so the
    /// ring cannot change under it; the completions are read after the answers, so a rank that completed between its
    /// answer and now is not counted.
    /// </summary>
    private async Task CheckRingAsync()
    {
        if (record.State.State.IsFinal())
        {
            StopWatchdog();
            return;
        }
        if (!RingRunning) return;  // awaiting a gang: the next launch forms a ring to watch
        var attempt = record.State.Attempt;
        var stopped = await RingProbe.StoppedRanksAsync(GrainFactory, Id, attempt, record.State.Workers, WatchdogProbeTimeout, logger);
        foreach (var (rank, failure) in stopped)
        {
            if (!RingRunning || record.State.Attempt != attempt) return;
            if (record.State.CompletedRanks.Contains(rank)) continue;
            logger.LogWarning("Experiment {Experiment}'s watchdog: rank {Rank} stopped without a report ({Reason})", Id, rank, failure.Error);
            await ReportFailedAsync(rank, attempt, failure.Error, failure.Retryable);
        }
    }

    private void StartWatchdog(TimeSpan firstAfter) =>
        _watchdog ??= this.RegisterGrainTimer(_ => CheckRingAsync(), firstAfter, options.Value.WatchdogInterval);

    private void StopWatchdog()
    {
        _watchdog?.Dispose();
        _watchdog = null;
    }

    /// <summary>Abort the broken ring, then re-form it on a gang from the scheduler (or wait for one).</summary>
    private async Task RecoverAsync(string cause)
    {
        var resumeStep = record.State.ResumePoint?.Step ?? 0;
        var redone = _progress.RewindTo(resumeStep);
        logger.LogWarning("Experiment {Experiment} attempt {Attempt} broke ({Cause}); re-forming from step {Step}",
            Id, record.State.Attempt, cause, resumeStep);
        var old = record.State.Workers;
        record.State = record.State with { Workers = [], Recoveries = record.State.Recoveries + 1, StepsRedone = record.State.StepsRedone + redone };
        await WriteAsync();
        metrics.RecordRecovery(redone);
        await CancelWorkersAsync(old);
        // A failure right after a re-formation is usually the same lost node, which Orleans membership has not yet
        // declared dead (calls to it fail at once): back off 2, 4, 8, 16 s before the next formations instead of
        // spending every recovery within seconds. The first re-formation is immediate.
        if (record.State.Recoveries <= 1) await ReformAsync();
        else RetryReformLater(TimeSpan.FromSeconds(Math.Pow(2, record.State.Recoveries - 1)));
    }

    /// <summary>
    /// Asks the scheduler for a new gang and launches on it, or leaves the run waiting in the scheduler's queue.
    /// If the scheduler cannot be reached (its node may be the one that died), the request is retried on a timer
    /// rather than lost: the scheduler's ReformAsync is idempotent, and a run with no ring must not wait forever.
    /// </summary>
    private async Task ReformAsync()
    {
        var spec = record.State.Spec!;
        IReadOnlyList<string> gang;
        try
        {
            gang = await GrainFactory.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).ReformAsync(Id, spec.Workers, spec.Device);
        }
        catch (Exception e)
        {
            logger.LogWarning("Experiment {Experiment} could not reach the scheduler to re-form ({Error}); retrying in {Delay}",
                Id, e.Message, ReformRetry);
            RetryReformLater();
            return;
        }
        StopReformRetry();
        if (gang.Count > 0) await LaunchAsync(gang, throwOnFailure: false);
        else logger.LogWarning("Experiment {Experiment} waits for {Workers} free workers", Id, spec.Workers);
    }

    private void RetryReformLater(TimeSpan? firstAfter = null) => _reformRetry ??= this.RegisterGrainTimer(async _ =>
    {
        if (AwaitingGang) await ReformAsync();
        else StopReformRetry();
    }, firstAfter ?? ReformRetry, ReformRetry);

    private void StopReformRetry()
    {
        _reformRetry?.Dispose();
        _reformRetry = null;
    }

    /// <summary>Forms attempt N+1 of the ring on <paramref name="workerIds"/>, from the last checkpoint if any.</summary>
    private async Task LaunchAsync(IReadOnlyList<string> workerIds, bool throwOnFailure)
    {
        var spec = record.State.Spec!;
        var attempt = record.State.Attempt + 1;
        record.State = record.State with { Workers = [.. workerIds], State = ExperimentState.Running, Attempt = attempt, CompletedRanks = [] };
        _progress.NewRing();
        await WriteAsync();
        metrics.RecordExperimentState(Id, record.State.State);
        try
        {
            var workers = workerIds.Select(id => GrainFactory.GetGrain<IWorkerGrain>(id)).ToList();
            var infos = await Task.WhenAll(workers.Select(w => w.DescribeAsync()));
            var ring = infos.Select(i => i.CollectiveEndpoint).ToList();
            var shard = new DatasetShardKey(spec.Dataset.Identity(spec.Seed), spec.Dataset.TrainCount, spec.Seed, Shard: 0).ToString();
            // All ranks at once: a worker may wait (up to its grace) for the previous run's loop to leave it, and those
            // waits one after the other would outlast this call's own timeout on a large gang.
            await Task.WhenAll(workers.Select((worker, rank) => worker.RunAsync(new TrainingAssignment(Id, spec, rank, ring, shard, RingId: $"{Id}#{attempt}")
            {
                Attempt = attempt,
                ResumeFrom = record.State.ResumePoint,
            })));
        }
        catch (Exception e)
        {
            var error = $"could not start the workers: {e.Message}";
            if (throwOnFailure && !record.State.Scheduled)
            {
                await FinishAsync(ExperimentState.Failed, error);
                throw;
            }
            await FailAttemptAsync(attempt, $"attempt {attempt}: {error}");
            return;
        }
        StartWatchdog(options.Value.WatchdogInterval);
        logger.LogInformation("Experiment {Experiment} attempt {Attempt} started on {Workers}{Resume}", Id, attempt,
            string.Join(", ", workerIds), record.State.ResumePoint is { } c ? $" from the checkpoint of step {c.Step}" : "");
    }

    private async Task FinishAsync(ExperimentState state, string? error)
    {
        if (error is not null) logger.LogError("Experiment {Experiment} failed: {Error}", Id, error);
        record.State = record.State with { State = state, Error = error ?? record.State.Error };
        StopWatchdog();
        await WriteAsync();
        metrics.RecordExperimentState(Id, state);
        if (state != ExperimentState.Completed) await CancelWorkersAsync(record.State.Workers);
        // Idempotent: frees the workers of a scheduled run, or drops a cancelled one from the queue. Once: a release
        // that fails (the scheduler's node died, its write failed) is made up for by the scheduler's periodic check,
        // which releases the workers of holders in a final state; the run's end, already recorded, stands.
        try { await GrainFactory.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).ReleaseAsync(Id); }
        catch (Exception e)
        {
            logger.LogWarning("Experiment {Experiment} could not release its workers ({Error}); the scheduler's next check frees them", Id, e.Message);
        }
    }

    /// <summary>Writes the record with the throughput so far, so a later activation reports the same images/s.</summary>
    private async Task WriteAsync()
    {
        record.State = record.State with { Images = _progress.Images, TrainingTime = _progress.TrainingTime };
        await record.WriteRetryingAsync(this, logger, $"Experiment {Id}", time);
    }

    /// <summary>Best effort and bounded: a worker on a lost node cannot answer, and must not hold up the rest.</summary>
    private async Task CancelWorkersAsync(IEnumerable<string> workerIds)
    {
        var calls = workerIds.Select(async id =>
        {
            try { await GrainFactory.GetGrain<IWorkerGrain>(id).CancelAsync(Id).WaitAsync(CancelTimeout); }
            catch (Exception e) { logger.LogWarning("Could not cancel worker {Worker} of {Experiment}: {Error}", id, Id, e.Message); }
        });
        await Task.WhenAll(calls);
    }

    /// <summary>The status, once the earlier best it may point at is checked (<see cref="EarlierBestChecker.CheckAsync"/>).</summary>
    private async Task<ExperimentStatus> StatusAsync()
    {
        await _earlierBest.CheckAsync(record.State);
        return Status();
    }

    private ExperimentStatus Status()
    {
        var r = record.State;
        var (best, earlierBest) = _earlierBest.BestCheckpoint(r);
        var step = r.State == ExperimentState.Completed ? r.Spec?.TotalSteps ?? _progress.Step : Math.Max(_progress.Step, r.ResumePoint?.Step ?? 0);
        return new ExperimentStatus(Id, r.State, step, r.Spec?.TotalSteps ?? 0, _progress.Loss, _progress.ImagesPerSecond,
            r.Workers.Count, _clock.Elapsed.TotalSeconds, r.Evaluation, r.Error)
        {
            Attempt = r.Attempt,
            StepsRedone = r.StepsRedone,
            Checkpoint = r.Checkpoint,
            ResumedFrom = r.ResumedFrom,
            WorkerIds = r.Workers,
            CoordinatorNode = silo.Name,
            Validations = r.Validations,
            BestCheckpoint = best,
            EarlierBest = earlierBest,
            Starting = _starting,
        };
    }
}
