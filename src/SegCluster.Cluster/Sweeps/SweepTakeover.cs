using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps.Search;

namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// A driver that takes a sweep over (a new activation from storage after its node was lost, or a resume after its process
/// was killed) first asks what became of each trial recorded running: its experiment is a grain of its own and trains on
/// without a coordinator. One that completed meanwhile, or still runs, on workers of the sweep no other such trial has,
/// is adopted: followed as the same attempt on its workers from the steps the trial recorded (ASHA and the curves get
/// what comes after; a completed one ends at the first poll). Launched again instead, a completed trial trained twice and
/// a running one was killed, losing its steps since its last checkpoint. One that failed, was cancelled, or cannot say
/// is launched again from its checkpoint (<see cref="TrialLauncher"/>).
/// </summary>
public sealed class SweepTakeover(ITrialRunner runner, ILogger logger)
{
    /// <summary>The trials of sweep <paramref name="sweepId"/> to follow (<see cref="ITrialRunner.FollowAsync"/>), each with
    /// the step it is followed from; none when the driver is cancelled already.</summary>
    public async Task<List<(TrialLaunch Launch, int FromStep)>> AdoptAsync(string sweepId, SweepSpec spec, IReadOnlyList<TrialResult> trials,
        IReadOnlyList<string> sweepWorkers, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return [];
        var left = ToAsk(spec, trials, sweepWorkers);
        var states = await Task.WhenAll(left.Select(t => runner.StateOfAsync(t.ExperimentId!)));
        var adopted = new List<(TrialLaunch, int)>();
        foreach (var (trial, state) in Followed(spec, [.. left.Zip(states)]))
        {
            adopted.Add((FollowLaunch(sweepId, spec, trial), trial.Steps));
            logger.LogInformation("Sweep {Sweep}: trial {Trial} ({Experiment}, {State}) went on while the sweep had no coordinator; followed from step {Step}, not launched again",
                sweepId, trial.Name, trial.ExperimentId, state, trial.Steps);
        }
        return adopted;
    }

    /// <summary>The trials whose experiment is asked what became of it: recorded running, with an experiment, on a whole
    /// gang of the sweep's own workers.</summary>
    public static List<TrialResult> ToAsk(SweepSpec spec, IReadOnlyList<TrialResult> trials, IReadOnlyList<string> sweepWorkers)
    {
        var workers = sweepWorkers.ToHashSet();
        return [.. trials.Where(t => t is { State: TrialState.Running, ExperimentId: not null } && t.Workers.Count == spec.WorkersPerTrial && t.Workers.All(workers.Contains))];
    }

    /// <summary>Of the asked trials and their experiments' answers (null: unknown), those followed, in order: completed or
    /// still going, on workers no trial before it in the list is followed on.</summary>
    public static List<(TrialResult Trial, ExperimentState State)> Followed(SweepSpec spec, IReadOnlyList<(TrialResult Trial, ExperimentState? State)> answers)
    {
        var followed = new List<(TrialResult, ExperimentState)>();
        var leased = new HashSet<string>();
        foreach (var (trial, answer) in answers)
        {
            if (answer is not ({ } state and (ExperimentState.Completed or ExperimentState.Pending or ExperimentState.Running)) || trial.Workers.Any(leased.Contains)) continue;
            // A completed experiment's losses live in its activation's memory only: one reactivated after the outage has
            // none, and a trial ranked by loss would end without a metric. Its evaluation is stored, so other metrics adopt it.
            if (state == ExperimentState.Completed && spec.Metric == SweepSpec.Loss) continue;
            leased.UnionWith(trial.Workers);
            followed.Add((trial, state));
        }
        return followed;
    }

    /// <summary>The launch a followed attempt was started with: its experiment spec, continuing from the checkpoint the
    /// attempt itself continued from, if any.</summary>
    private static TrialLaunch FollowLaunch(string sweepId, SweepSpec spec, TrialResult trial)
    {
        var trialSpec = TrialPlanner.SpecFor(spec, trial.Name, trial.Parameters);
        if (trialSpec.Training.ResumeFrom is null && trial.ResumedFromPath is { } path) trialSpec = TrialLauncher.ResumingFrom(trialSpec, path);
        return new TrialLaunch(sweepId, trial.Index, trial.ExperimentId!, trialSpec, trial.Workers);
    }
}
