using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Sweeps;

/// <summary>How a trial ended: Completed (with its evaluation), Stopped (the sweep said stop), Failed or Cancelled.</summary>
public sealed record TrialOutcome(TrialState State, int Steps, double FinalLoss, EvaluationReport? Evaluation = null, string? Error = null);
