namespace SegCluster.Vision.Data.Loading;

/// <summary>The samples of one step, with the epoch and the dataset indices they came from, and already stacked in host
/// memory (<see cref="HostBatch"/>: collated on the loader's thread, not the training thread).</summary>
public sealed record PrefetchedBatch(int Epoch, int[] Indices, IReadOnlyList<SegmentationSample> Samples)
{
    public HostBatch Collated { get; } = HostBatch.Collate(Samples);
}
