namespace SegCluster.Cluster.Sweeps;

/// <summary>A trial's training loss (moving mean over the last steps) after <paramref name="Step"/> optimizer steps.</summary>
public sealed record TrialProgress(int Step, double Loss);
