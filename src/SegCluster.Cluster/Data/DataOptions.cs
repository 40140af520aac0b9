namespace SegCluster.Cluster.Data;

/// <summary>Data loading of a node (configuration section "Data").</summary>
public sealed class DataOptions
{
    public const string Section = "Data";

    /// <summary>Byte budget of each dataset split's in-memory sample cache on this node (shared by its workers).
    /// 0 disables caching. Default 512 MiB.</summary>
    public long CacheBytes { get; set; } = 512L << 20;

    /// <summary>Batches each worker loads ahead of the step it computes. Default 2.</summary>
    public int PrefetchBatches { get; set; } = 2;

    /// <summary>Samples of a batch each worker loads at once from files (decode, augment; PyTorch DataLoader's
    /// num_workers). Default 4; synthetic samples load on the worker's thread.</summary>
    public int LoaderThreads { get; set; } = 4;

    /// <summary>Errors naming the setting; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (CacheBytes < 0) yield return $"Data:CacheBytes = {CacheBytes} must be >= 0 (0 disables the sample cache).";
        if (PrefetchBatches is < 1 or > 64) yield return $"Data:PrefetchBatches = {PrefetchBatches} must be in [1, 64].";
        if (LoaderThreads is < 1 or > 64) yield return $"Data:LoaderThreads = {LoaderThreads} must be in [1, 64].";
    }
}
