using SegCluster.Cluster.Data;

namespace SegCluster.Cluster.Tests.Data;

/// <summary>A node's Data settings: each bad value is named with its valid range, and the defaults pass.</summary>
public sealed class DataOptionsTests
{
    [Fact]
    public void Each_bad_setting_is_named_with_its_range()
    {
        Assert.Empty(new DataOptions().Validate());
        Assert.Equal(
            [
                "Data:CacheBytes = -1 must be >= 0 (0 disables the sample cache).",
                "Data:PrefetchBatches = 0 must be in [1, 64].",
                "Data:LoaderThreads = 65 must be in [1, 64].",
            ],
            new DataOptions { CacheBytes = -1, PrefetchBatches = 0, LoaderThreads = 65 }.Validate());
    }
}
