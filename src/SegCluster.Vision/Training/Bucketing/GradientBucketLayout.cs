using SegCluster.Vision.Training.Optimizers;

namespace SegCluster.Vision.Training.Bucketing;

/// <summary>
/// Cuts the flat gradient into buckets of about <c>capBytes</c> (PyTorch DDP's bucket_cap_mb, 25 MB by default), from the
/// LAST parameter backwards: backward produces the gradients of the layers nearest the loss first, so bucket 0 is ready
/// first and its all-reduce starts while the rest of backward runs. A parameter larger than the cap is a bucket alone.
/// As in DDP, the first bucket is capped at 1 MB (<see cref="FirstCapBytes"/>), so communication starts early in backward
/// even where the whole gradient would fit one bucket.
/// </summary>
public static class GradientBucketLayout
{
    /// <summary>The default bucket size, as DDP's.</summary>
    public const double DefaultCapMegabytes = 25;

    /// <summary>DDP's _DEFAULT_FIRST_BUCKET_BYTES.</summary>
    public const long FirstCapBytes = 1024 * 1024;

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
            long cap = buckets.Count == 0 ? Math.Min(capBytes, FirstCapBytes) : capBytes;
            while (first > 0 && bytes + 4 * slices[first - 1].Length <= cap)
                bytes += 4 * slices[--first].Length;
            buckets.Add(new GradientBucket(buckets.Count, first, end, (int)slices[first].Offset, (int)(bytes / 4)));
            end = first;
        }
        return [.. buckets];
    }
}
