using SegCluster.Abstractions.Messages;

namespace SegCluster.Cluster.Sweeps;

/// <summary>A trial's training loss (moving mean over the last steps) after <paramref name="Step"/> optimizer steps, or,
/// with <paramref name="Validation"/>, the validation the trial ran after that step (training.validate_every).</summary>
public sealed record TrialProgress(int Step, double Loss, EvaluationReport? Validation = null);
