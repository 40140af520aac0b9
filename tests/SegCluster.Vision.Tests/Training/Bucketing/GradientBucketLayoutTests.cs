using SegCluster.Vision.Training.Bucketing;
using SegCluster.Vision.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training.Bucketing;

/// <summary>The layout DDP uses: buckets from the last parameter backwards, the first capped at 1 MB, the rest at the cap,
/// an oversized parameter alone, and every element in exactly one bucket.</summary>
public class GradientBucketLayoutTests
{
    [Fact]
    public void BucketsCoverTheGradientFromTheLastParameterWithASmallFirstBucket()
    {
        // 4-byte floats: 100 k floats = 0.4 MB; the 2 M-float parameter (8 MB) exceeds a 5 MB cap.
        long[] lengths = [2_000_000, 300_000, 300_000, 300_000, 100_000, 200_000, 100_000];
        using var scope = NewDisposeScope();
        var slices = ParameterSlice.Layout([.. lengths.Select(n => new Parameter(zeros(n)))], _ => 0);

        var buckets = GradientBucketLayout.Build(slices, capBytes: 5 * 1024 * 1024);

        // Bytes: 8 M, 1.2 M ×3, 0.4 M, 0.8 M, 0.4 M. First bucket (1 MiB): the last parameter only (+0.8 M would exceed it);
        // then 0.8 + 0.4 + 3 × 1.2 = 4.8 M ≤ 5 MiB; the 8 MB parameter alone.
        Assert.Equal([(6, 7), (1, 6), (0, 1)], buckets.Select(b => (b.FirstSlice, b.EndSlice)));
        Assert.Equal([0, 1, 2], buckets.Select(b => b.Index));
        Assert.Equal(slices.Length, buckets.Sum(b => b.EndSlice - b.FirstSlice));
        Assert.Equal(lengths.Sum(), buckets.Sum(b => (long)b.Length));
        Assert.All(buckets, b => Assert.Equal(slices[b.FirstSlice].Offset, b.Offset));
    }
}
