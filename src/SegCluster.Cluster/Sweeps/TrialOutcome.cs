using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Sweeps;

/// <summary>How a trial ended: Completed (with its evaluation), Stopped (the sweep said stop), Failed or Cancelled.
/// <paramref name="LostWorkers"/>: the trial's workers whose node left the cluster (the sweep leases them to no other trial).</summary>
public sealed record TrialOutcome(
    TrialState State, int Steps, double FinalLoss, EvaluationReport? Evaluation = null, string? Error = null, IReadOnlyList<string>? LostWorkers = null)
{
    /// <summary>Where the attempt's best weights are, as its experiment's status last said (<see cref="ExperimentStatus.BestCheckpoint"/>):
    /// its own best.ckpt, or the earlier attempt's it continued from and did not beat.</summary>
    public CheckpointRecord? BestCheckpoint { get; init; }

    /// <summary>Why there is no <see cref="BestCheckpoint"/> although the attempt has a best (<see cref="EarlierBest.Problem"/>).</summary>
    public string? BestCheckpointProblem { get; init; }

    /// <summary>The share of each training image an annotator labels for the trial's labels (<see cref="Training.AnnotationCost"/>);
    /// null where it could not be measured.</summary>
    public double? LabelledFraction { get; init; }
}
