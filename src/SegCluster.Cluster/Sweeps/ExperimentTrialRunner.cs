using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Training;

namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// The default trial runner: starts the trial as an <see cref="IExperimentGrain"/> on its workers (or takes up one an
/// earlier coordinator of the sweep started: <see cref="FollowAsync"/>), follows its step losses every <see cref="SweepOptions.PollInterval"/>, reports their moving mean and each validation, and cancels the experiment when
/// the sweep stops the trial or is cancelled. A trial that ends here for any other reason cancels its experiment too,
/// because the sweep hands its workers to the next trial at once. A trial whose worker's node left the cluster fails
/// here: its workers are leased to the sweep, not tracked by the scheduler's checks, and a one-worker ring has no peer
/// whose timeout would notice.
/// </summary>
public sealed class ExperimentTrialRunner(IGrainFactory grains, IClusterMembershipService membership, IOptions<SweepOptions> options,
    ILogger<ExperimentTrialRunner> logger) : ITrialRunner
{
    /// <summary>Bound on the best-effort cancel of an experiment the runner gives up on, and on each question about one.</summary>
    private static readonly TimeSpan AbandonTimeout = TimeSpan.FromSeconds(10);

    public async Task<TrialOutcome> RunAsync(TrialLaunch launch, Func<TrialProgress, bool> progress, CancellationToken cancellationToken)
    {
        var experiment = grains.GetGrain<IExperimentGrain>(launch.ExperimentId);
        try
        {
            await experiment.StartAsync(launch.Spec, launch.Workers);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Refused before anything was launched.
            return new TrialOutcome(TrialState.Failed, 0, double.NaN, Error: e.UserMessage());
        }
        catch (Exception e)
        {
            // A timeout may come after the ring was launched on the workers the sweep is about to reuse.
            await AbandonQuietlyAsync(experiment);
            return new TrialOutcome(TrialState.Failed, 0, double.NaN, Error: $"the start failed: {e.Message}");
        }

        return await FollowAsync(launch, 0, progress, cancellationToken);
    }

    public async Task<TrialOutcome> FollowAsync(TrialLaunch launch, int fromStep, Func<TrialProgress, bool> progress, CancellationToken cancellationToken)
    {
        var experiment = grains.GetGrain<IExperimentGrain>(launch.ExperimentId);
        var loss = new MovingMean(options.Value.LossWindow);
        // Followed from a step on (an adopted trial): the losses of the window before it are read into the mean, not reported again.
        var step = Math.Max(0, fromStep - options.Value.LossWindow);
        var validated = fromStep;  // the step of the last validation reported
        ExperimentStatus? last = null;  // the latest status read: its best checkpoint goes with the outcome
        // Measured beside the training, off the grain scheduler: scribbles are drawn on a few train images.
        var labelled = Task.Run(() => LabelledFraction(launch));
        async Task<TrialOutcome> Ended(TrialOutcome outcome) =>
            (last is null ? outcome : outcome with { BestCheckpoint = last.BestCheckpoint, BestCheckpointProblem = last.EarlierBest?.Problem })
            with { LabelledFraction = await labelled };
        // The sweep hands the trial's workers to the next trial at once: an experiment left running would train on them too.
        async Task<TrialOutcome> StopWith(TrialOutcome outcome)
        {
            await AbandonQuietlyAsync(experiment);
            return await Ended(outcome);
        }
        try
        {
            while (true)
            {
                try
                {
                    await Task.Delay(options.Value.PollInterval, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return await StopWith(new TrialOutcome(TrialState.Cancelled, step, loss.Value, Error: TrialTransitions.SweepCancelled));
                }

                ExperimentStatus status;
                IReadOnlyList<CurvePoint> points;
                try
                {
                    // Status before losses: once the status is final, every step's loss has been reported.
                    status = last = await experiment.GetStatusAsync();
                    points = await experiment.GetLossesAsync(step);
                }
                catch (Exception e) when (GrainRelocation.InProgress(e))
                {
                    // The coordinator's node was lost and Orleans moves it (from storage): keep polling, as `train` does.
                    continue;
                }

                if (HasNoRecord(status))  // would stay pending: nothing runs it
                    return await Ended(new TrialOutcome(TrialState.Failed, step, loss.Value, Error: "the experiment has no record: its start was refused, or its state was lost with its node"));
                if (LostWorkers(launch.Workers) is [var first, ..] lost)
                    return await StopWith(new TrialOutcome(TrialState.Failed, step, loss.Value, Error: $"worker {first}'s node left the cluster", LostWorkers: lost));

                if (SweepStoppedTrialWhileReporting(points, status))
                    return await StopWith(new TrialOutcome(TrialState.Stopped, step, loss.Value));
                if (!status.State.IsFinal()) continue;
                return await Ended(status.State switch
                {
                    // The status's step: a followed experiment that completed may have reported no losses to this runner.
                    ExperimentState.Completed => new TrialOutcome(TrialState.Completed, Math.Max(step, status.Step), loss.Value, status.Evaluation),
                    ExperimentState.Cancelled => new TrialOutcome(TrialState.Cancelled, step, loss.Value, Error: "the experiment was cancelled"),
                    _ => new TrialOutcome(TrialState.Failed, step, loss.Value, Error: status.Error),
                });
            }
        }
        catch (Exception e)
        {
            return await StopWith(new TrialOutcome(TrialState.Failed, step, loss.Value, Error: $"following the experiment failed: {e.Message}"));
        }

        // Reports the losses read since the last poll, then the validations not reported yet, moving step, the mean and
        // validated on as it goes; true as soon as the sweep's answer to one is to stop the trial (step and the mean are
        // then those of the last loss reported).
        bool SweepStoppedTrialWhileReporting(IReadOnlyList<CurvePoint> points, ExperimentStatus status)
        {
            foreach (var point in points)
            {
                step = point.Step;
                loss.Add(point.Value);
                if (step > fromStep && !progress(new TrialProgress(step, loss.Value))) return true;
            }
            // Validations after the losses: a validation at step s comes after step s's loss, and the status was read first.
            foreach (var validation in status.Validations.Where(v => v.Step > validated).OrderBy(v => v.Step))
            {
                validated = validation.Step;
                if (!progress(new TrialProgress(validation.Step, loss.Value, validation.Evaluation))) return true;
            }
            return false;
        }
    }

    /// <summary><see cref="AnnotationCost.LabelledFraction"/> of the trial's spec; null, logged, when its files cannot be read here.</summary>
    private double? LabelledFraction(TrialLaunch launch)
    {
        try
        {
            return AnnotationCost.LabelledFraction(launch.Spec);
        }
        catch (Exception e)
        {
            logger.LogWarning("Trial {Experiment}: the labelled share of its training labels could not be measured ({Error})", launch.ExperimentId, e.Message);
            return null;
        }
    }

    public async Task<ExperimentState?> StateOfAsync(string experimentId)
    {
        try
        {
            var experiment = grains.GetGrain<IExperimentGrain>(experimentId);
            var status = await experiment.GetStatusAsync().WaitAsync(AbandonTimeout);
            if (HasNoRecord(status)) return null;
            if (status is not { State: ExperimentState.Running, WorkerIds.Count: > 0 }
                || (await RingProbe.StoppedRanksAsync(grains, experimentId, status.Attempt, status.WorkerIds, AbandonTimeout, logger)).Count == 0)
                return status.State;
            // Recorded running, but a worker says it does not run its rank: the process that ran them was killed (an embedded
            // sweep's), and the experiment's own watchdog is about to fail it; launched again, as an interrupted trial, not
            // failed. Or its ranks just completed: asked again, it says so.
            var now = (await experiment.GetStatusAsync().WaitAsync(AbandonTimeout)).State;
            return now == ExperimentState.Completed ? now : null;
        }
        catch (Exception)
        {
            return null;  // unreachable: launched again, as before
        }
    }

    /// <summary>An experiment grain with no record answers pending, not starting, with no spec: never started (a start an
    /// earlier coordinator sent was refused), or its state was in memory on a node that is gone.</summary>
    private static bool HasNoRecord(ExperimentStatus status) => status is { State: ExperimentState.Pending, Starting: false, TotalSteps: 0 };

    /// <summary>The workers whose node membership lists only as dead.</summary>
    private List<string> LostWorkers(IReadOnlyList<string> workers)
    {
        var lost = membership.CurrentSnapshot.Lost();
        return lost.Count == 0 ? [] : [.. workers.Where(w => lost.Contains(WorkerIds.Parse(w).NodeId))];
    }

    public Task AbandonAsync(string experimentId) => grains.GetGrain<IExperimentGrain>(experimentId).CancelAsync();

    public async Task<CheckpointRecord?> LastCheckpointAsync(string experimentId)
    {
        try
        {
            return (await grains.GetGrain<IExperimentGrain>(experimentId).GetStatusAsync().WaitAsync(AbandonTimeout)).Checkpoint;
        }
        catch (Exception)
        {
            return null;  // unreachable or unknown (its state was in memory): the trial starts from scratch, as before
        }
    }

    private static async Task AbandonQuietlyAsync(IExperimentGrain experiment)
    {
        try { await experiment.CancelAsync().WaitAsync(AbandonTimeout); }
        catch (Exception)
        {
            // Unreachable as well: the experiment's own failure handling (ring timeout, lost node) ends it.
        }
    }
}
