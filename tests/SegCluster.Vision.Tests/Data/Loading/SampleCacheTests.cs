using SegCluster.Vision.Data.Loading;

namespace SegCluster.Vision.Tests.Data.Loading;

public sealed class SampleCacheTests
{
    private static SampleCache<byte[]> Cache(long budget) => new(budget, a => a.LongLength);

    [Fact]
    public void A_second_lookup_hits_and_does_not_load_again()
    {
        var cache = Cache(1000);
        int loads = 0;
        byte[] Load(int i) { loads++; return new byte[100]; }
        var first = cache.GetOrLoad(1, Load);
        Assert.Same(first, cache.GetOrLoad(1, Load));
        Assert.Equal(1, loads);
        var stats = cache.Statistics;
        Assert.Equal((1L, 1L, 100L, 1), (stats.Hits, stats.Misses, stats.Bytes, stats.Entries));
        Assert.Equal(0.5, stats.HitRate);
    }

    [Fact]
    public void The_least_recently_used_samples_are_evicted_to_stay_within_the_byte_budget()
    {
        var cache = Cache(300);
        for (int i = 0; i < 3; i++) cache.GetOrLoad(i, _ => new byte[100]);
        cache.GetOrLoad(0, _ => throw new InvalidOperationException("0 is cached"));  // 0 is now the most recent
        cache.GetOrLoad(3, _ => new byte[150]);                                       // evicts 1 and 2 (the LRU ones)
        var stats = cache.Statistics;
        Assert.Equal(250, stats.Bytes);
        Assert.Equal(2, stats.Evictions);
        cache.GetOrLoad(0, _ => throw new InvalidOperationException("0 must still be cached"));
        int reloads = 0;
        cache.GetOrLoad(1, _ => { reloads++; return new byte[10]; });
        Assert.Equal(1, reloads);
        Assert.InRange(cache.Statistics.Bytes, 0, 300);
    }

    [Fact]
    public void A_sample_larger_than_the_budget_is_served_but_not_cached()
    {
        var cache = Cache(50);
        cache.GetOrLoad(0, _ => new byte[51]);
        Assert.Equal((0L, 0), (cache.Statistics.Bytes, cache.Statistics.Entries));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cache(-1));
    }

    [Fact]
    public void Concurrent_readers_keep_the_accounting_consistent()
    {
        var cache = Cache(64 * 10);
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => cache.GetOrLoad(i % 97, _ => new byte[64]));
        var stats = cache.Statistics;
        Assert.Equal(4000, stats.Hits + stats.Misses);
        Assert.Equal(stats.Entries * 64L, stats.Bytes);
        Assert.InRange(stats.Bytes, 0, 640);
    }
}
