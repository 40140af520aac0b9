using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Sweeps;

/// <summary>How a trial ended: Completed (with its evaluation), Stopped (the sweep said stop), Failed or Cancelled.
/// <paramref name="LostWorkers"/>: the trial's workers whose node left the cluster (the sweep leases them to no other trial).</summary>
public sealed record TrialOutcome(
    TrialState State, int Steps, double FinalLoss, EvaluationReport? Evaluation = null, string? Error = null, IReadOnlyList<string>? LostWorkers = null);
