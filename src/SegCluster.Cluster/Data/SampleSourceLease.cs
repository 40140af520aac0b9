using SegCluster.Vision.Data.Loading;

namespace SegCluster.Cluster.Data;

/// <summary>A worker's use of a node-wide <see cref="ISampleSource"/>; dispose when the run ends so an unused cache is freed.</summary>
public sealed class SampleSourceLease(ISampleSource source, string dataset, Action release) : IDisposable
{
    private int _released;

    public ISampleSource Source { get; } = source;

    /// <summary>The source's name in metrics and logs (the dataset's identity and split).</summary>
    public string Dataset { get; } = dataset;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) release();
    }
}
