namespace SegCluster.Vision.Data.Loading;

/// <summary>One step's samples, stacked in host memory on the loader's thread (<see cref="HostBatch"/>, not on the
/// training thread), with the epoch and the dataset indices they came from.</summary>
public sealed record PrefetchedBatch(int Epoch, int[] Indices, HostBatch Batch);
