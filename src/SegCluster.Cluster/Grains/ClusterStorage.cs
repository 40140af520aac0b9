namespace SegCluster.Cluster.Grains;

/// <summary>Names of the grain storage providers the cluster needs (memory when embedded, Redis on a cluster).</summary>
public static class ClusterStorage
{
    public const string Experiments = "experiments";
    public const string Sweeps = "sweeps";
    public const string Scheduler = "scheduler";
    /// <summary>Per-shard results of spectral label analyses.</summary>
    public const string Spectral = "spectral";

    public static readonly IReadOnlyList<string> All = [Experiments, Sweeps, Scheduler, Spectral];
}
