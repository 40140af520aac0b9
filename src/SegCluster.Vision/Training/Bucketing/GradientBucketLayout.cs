using SegCluster.Vision.Training.Optimizers;

namespace SegCluster.Vision.Training.Bucketing;

/// <summary>
/// Cuts the flat gradient into buckets of about <c>capBytes</c> (PyTorch DDP's bucket_cap_mb, 25 MB by default), from the
/// LAST parameter backwards: backward produces the gradients of the layers nearest the loss first, so bucket 0 is ready
/// first and its all-reduce starts while the rest of backward runs. A parameter larger than the cap is a bucket alone.
/// </summary>
public static class GradientBucketLayout
{
    /// <summary>The default bucket size, as DDP's.</summary>
    public const double DefaultCapMegabytes = 25;

    public static GradientBucket[] Build(IReadOnlyList<ParameterSlice> slices, long capBytes)
    {
        ArgumentNullException.ThrowIfNull(slices);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capBytes);
        var buckets = new List<GradientBucket>();
        int end = slices.Count;
        while (end > 0)
        {
            int first = end - 1;
            long bytes = 4 * slices[first].Length;
            while (first > 0 && bytes + 4 * slices[first - 1].Length <= capBytes)
                bytes += 4 * slices[--first].Length;
            buckets.Add(new GradientBucket(buckets.Count, first, end, (int)slices[first].Offset, (int)(bytes / 4)));
            end = first;
        }
        return [.. buckets];
    }
}
