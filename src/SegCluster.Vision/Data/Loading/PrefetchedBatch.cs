namespace SegCluster.Vision.Data.Loading;

/// <summary>The samples of one step, with the epoch and the dataset indices they came from.</summary>
public sealed record PrefetchedBatch(int Epoch, int[] Indices, IReadOnlyList<SegmentationSample> Samples);
