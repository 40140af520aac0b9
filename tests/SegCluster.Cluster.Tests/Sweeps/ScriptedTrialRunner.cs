using System.Collections.Concurrent;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>
/// A trainer with a scripted objective: trial i reports loss(i, step) for every step of its budget, yielding between
/// steps, and completes with mIoU = 1 − loss/10 (and validates with that mIoU where the spec validates during training).
/// A launch that resumes from one of <see cref="Checkpoints"/> (training.resume_from) starts after that checkpoint's step.
/// Trials listed in <see cref="Hold"/> wait at their first step until cancelled, or go on once <see cref="Released"/>
/// completes. A launch that <see cref="Failure"/> answers for fails at step <see cref="FailAt"/> (or its first step past
/// it) with those workers lost (none: a plain failure).
/// Records every launch so tests can prove which trials ran. Experiments an earlier coordinator launched and that went on
/// without it are declared in <see cref="Surviving"/>: a follow of one runs its script on from the step it is followed from
/// (a completed one without holding).
/// </summary>
internal sealed class ScriptedTrialRunner(Func<int, int, double> loss) : ITrialRunner
{
    public ConcurrentQueue<TrialLaunch> Launches { get; } = new();
    /// <summary>Each trial followed (<see cref="FollowAsync"/>), and the step it was followed from.</summary>
    public ConcurrentQueue<(TrialLaunch Launch, int FromStep)> Follows { get; } = new();
    /// <summary>What <see cref="StateOfAsync"/> answers, by experiment id: the experiments that survived a lost coordinator
    /// (none: it knows none, and a coordinator taking over launches its running trials again).</summary>
    public ConcurrentDictionary<string, ExperimentState> Surviving { get; } = new();
    public ConcurrentQueue<string> Abandoned { get; } = new();
    /// <summary>The cancellation token of each trial's latest launch, by trial index.</summary>
    public ConcurrentDictionary<int, CancellationToken> Tokens { get; } = new();
    /// <summary>What <see cref="LastCheckpointAsync"/> throws, when set (a checkpoint store that cannot be read): the sweep's
    /// driver asks it when it launches a trial again.</summary>
    public Exception? CheckpointError { get; set; }
    /// <summary>The loss a launch reports at a step, when set (instead of the constructor's, by trial index): tells attempts apart.</summary>
    public Func<TrialLaunch, int, double>? LaunchLoss { get; init; }
    /// <summary>Launches may share a worker: an attempt abandoned while it was still stopping goes on beside the next one.</summary>
    public bool SharedWorkers { get; init; }
    /// <summary>Every report a launch delivered (after the sweep's callback returned): experiment id, step, whether it continued.</summary>
    public ConcurrentQueue<(string ExperimentId, int Step, bool Continues)> Reports { get; } = new();
    private readonly ConcurrentDictionary<(string, int), TaskCompletionSource> _reported = new();

    /// <summary>Completes once <paramref name="experimentId"/> has delivered its report of <paramref name="step"/>.</summary>
    public Task Reported(string experimentId, int step) =>
        _reported.GetOrAdd((experimentId, step), _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
    public HashSet<int> Hold { get; init; } = [];
    /// <summary>Which launches fail, and the workers whose node each loses; null for a launch that runs its script.</summary>
    public Func<TrialLaunch, IReadOnlyList<string>?> Failure { get; init; } = _ => null;
    /// <summary>The step a failing launch fails at, before it reports it.</summary>
    public int FailAt { get; init; } = 1;
    /// <summary>Held trials wait for <see cref="Released"/> even when cancelled (an experiment slow to stop).</summary>
    public bool IgnoreCancel { get; init; }
    /// <summary>Completes once every trial in <see cref="Hold"/> is waiting.</summary>
    public TaskCompletionSource AllHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Lets the held trials go on.</summary>
    public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _busy = [];
    private int _held;

    public int MaxRunning { get; private set; }

    public Task<TrialOutcome> RunAsync(TrialLaunch launch, Func<TrialProgress, bool> progress, CancellationToken cancellationToken)
    {
        Launches.Enqueue(launch);
        var resumedFrom = Checkpoints.Values.FirstOrDefault(c => c.Path == launch.Spec.Training.ResumeFrom)?.Step ?? 0;
        return LeasedAsync(launch, resumedFrom + 1, Hold.Contains(launch.Index), progress, cancellationToken);
    }

    public Task<TrialOutcome> FollowAsync(TrialLaunch launch, int fromStep, Func<TrialProgress, bool> progress, CancellationToken cancellationToken)
    {
        Follows.Enqueue((launch, fromStep));
        var hold = Hold.Contains(launch.Index) && Surviving.GetValueOrDefault(launch.ExperimentId) != ExperimentState.Completed;
        return LeasedAsync(launch, fromStep + 1, hold, progress, cancellationToken);
    }

    public Task<ExperimentState?> StateOfAsync(string experimentId) =>
        Task.FromResult(Surviving.TryGetValue(experimentId, out var state) ? state : (ExperimentState?)null);

    /// <summary>Runs the script on the launch's workers, failing when one of them is leased to a trial still running.</summary>
    private async Task<TrialOutcome> LeasedAsync(TrialLaunch launch, int first, bool hold, Func<TrialProgress, bool> progress, CancellationToken cancellationToken)
    {
        Tokens[launch.Index] = cancellationToken;
        lock (_busy)
        {
            if (launch.Workers.Any(w => !_busy.Add(w)) && !SharedWorkers) throw new InvalidOperationException($"a worker of {launch.ExperimentId} is leased twice");
            MaxRunning = Math.Max(MaxRunning, _busy.Count / launch.Workers.Count);
        }
        try
        {
            return await Script(launch, first, hold, progress, cancellationToken);
        }
        finally
        {
            lock (_busy) _busy.ExceptWith(launch.Workers);
        }
    }

    private async Task<TrialOutcome> Script(TrialLaunch launch, int first, bool hold, Func<TrialProgress, bool> progress, CancellationToken cancellationToken)
    {
        var steps = launch.Spec.TotalSteps;
        for (var step = first; step <= steps; step++)
        {
            await Task.Yield();
            var value = LaunchLoss?.Invoke(launch, step) ?? loss(launch.Index, step);
            if (step >= FailAt && Failure(launch) is { } lost)
                return new TrialOutcome(TrialState.Failed, step, value, Error: $"scripted failure of {launch.ExperimentId}", LostWorkers: lost);
            var continues = progress(new TrialProgress(step, value));
            Reports.Enqueue((launch.ExperimentId, step, continues));
            _reported.GetOrAdd((launch.ExperimentId, step), _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            if (!continues) return new TrialOutcome(TrialState.Stopped, step, value);
            if (launch.Spec.Training.ValidatesAfter(step, steps) && !progress(new TrialProgress(step, value, Evaluation(value))))
                return new TrialOutcome(TrialState.Stopped, step, value);
            if (step == first && hold)
            {
                if (Interlocked.Increment(ref _held) == Hold.Count) AllHeld.TrySetResult();
                try { await Released.Task.WaitAsync(IgnoreCancel ? CancellationToken.None : cancellationToken); }
                catch (OperationCanceledException) { return new TrialOutcome(TrialState.Cancelled, step, value); }
            }
        }
        var final = LaunchLoss?.Invoke(launch, steps) ?? loss(launch.Index, steps);
        return new TrialOutcome(TrialState.Completed, steps, final, Evaluation(final)) { BestCheckpoint = BestCheckpoints.GetValueOrDefault(launch.ExperimentId) };
    }

    private static EvaluationReport Evaluation(double loss) => new(1 - loss / 10, 1 - loss / 20, [], []);

    /// <summary>The best checkpoint each experiment's status names when it completes, by experiment id (none: no best).</summary>
    public ConcurrentDictionary<string, CheckpointRecord> BestCheckpoints { get; } = new();

    /// <summary>The last checkpoint each experiment recorded, by experiment id (none: the trial starts again from scratch).</summary>
    public ConcurrentDictionary<string, CheckpointRecord> Checkpoints { get; } = new();

    public Task<CheckpointRecord?> LastCheckpointAsync(string experimentId) =>
        CheckpointError is { } error ? Task.FromException<CheckpointRecord?>(error)
            : Task.FromResult(Checkpoints.TryGetValue(experimentId, out var checkpoint) ? checkpoint : null);

    public Task AbandonAsync(string experimentId)
    {
        Abandoned.Enqueue(experimentId);
        return Task.CompletedTask;
    }
}
