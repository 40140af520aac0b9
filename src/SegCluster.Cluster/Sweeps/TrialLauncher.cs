using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps.Search;

namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// Prepares a trial's next attempt. A trial launched again (interrupted, cancelled, failed) continues from its latest
/// checkpoint, if it has one (training.checkpoint_every), as Ray Tune restores trials; an attempt an earlier, lost
/// coordinator left running is stopped first.
/// </summary>
public sealed class TrialLauncher(ITrialRunner runner)
{
    /// <summary>The launch of <paramref name="trial"/>'s next attempt in sweep <paramref name="sweepId"/> on
    /// <paramref name="workers"/>, and the trial as running it (<see cref="TrialTransitions.Launched"/>; its
    /// <see cref="TrialResult.ResumedFromStep"/> is the checkpoint it continues from). Changes nothing of the caller's: it
    /// records the trial and tells ASHA (<see cref="TrialProgressRecorder.Relaunched"/>).</summary>
    public async Task<(TrialLaunch Launch, TrialResult Running)> PrepareAsync(string sweepId, SweepSpec spec, TrialResult trial, string[] workers)
    {
        if (trial.State == TrialState.Running && trial.ExperimentId is { } lost)
            await runner.AbandonAsync(lost);
        var trialSpec = TrialPlanner.SpecFor(spec, trial.Name, trial.Parameters);
        var checkpoint = trialSpec.Training.ResumeFrom is null ? await LatestCheckpointAsync(trial) : null;
        if (checkpoint is not null) trialSpec = ResumingFrom(trialSpec, checkpoint.Path);
        var running = TrialTransitions.Launched(sweepId, trial, workers, checkpoint, DateTime.UtcNow);
        return (new TrialLaunch(sweepId, trial.Index, running.ExperimentId!, trialSpec, workers), running);
    }

    /// <summary><paramref name="spec"/> continuing from <paramref name="checkpoint"/> (training.resume_from).</summary>
    public static ExperimentSpec ResumingFrom(ExperimentSpec spec, string checkpoint) => spec with { Training = spec.Training with { ResumeFrom = checkpoint } };

    /// <summary>The trial's latest checkpoint: its last attempt's last one, or, when that attempt wrote none (it failed before
    /// its first checkpoint_every steps), the one it continued from; null when it has none.</summary>
    private async Task<CheckpointRecord?> LatestCheckpointAsync(TrialResult trial) =>
        (trial.ExperimentId is { } previous ? await runner.LastCheckpointAsync(previous) : null)
        ?? (trial is { ResumedFromStep: { } step, ResumedFromPath: { } path } ? new CheckpointRecord(step, path) : null);
}
