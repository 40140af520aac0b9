using Orleans.TestingHost;
using SegCluster.Abstractions.Grains;

namespace SegCluster.Cluster.Tests;

/// <summary>A real in-process silo: each epoch's slices are disjoint, equal in size, cover the shard, and differ by epoch.</summary>
public sealed class DatasetShardGrainTests : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Ranks_get_disjoint_slices_whose_union_is_the_shard(int worldSize)
    {
        const int count = 103;
        var shard = _cluster.Client.GetGrain<IDatasetShardGrain>(new DatasetShardKey("synthetic-test", count, Seed: 5, Shard: 0).ToString());
        var slices = await Task.WhenAll(Enumerable.Range(0, worldSize).Select(r => shard.GetEpochSamplesAsync(0, r, worldSize)));

        Assert.All(slices, s => Assert.Equal(count / worldSize, s.Length));
        var all = slices.SelectMany(s => s).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.All(all, i => Assert.InRange(i, 0, count - 1));
        Assert.Equal(count - count % worldSize, all.Count); // only the uneven tail is dropped
    }

    [Fact]
    public async Task Order_is_deterministic_per_epoch_and_changes_between_epochs()
    {
        var key = new DatasetShardKey("synthetic-test", 50, Seed: 9, Shard: 0).ToString();
        var first = await _cluster.Client.GetGrain<IDatasetShardGrain>(key).GetEpochSamplesAsync(1, 0, 1);
        var again = await _cluster.Client.GetGrain<IDatasetShardGrain>(key).GetEpochSamplesAsync(1, 0, 1);
        var next = await _cluster.Client.GetGrain<IDatasetShardGrain>(key).GetEpochSamplesAsync(2, 0, 1);
        Assert.Equal(first, again);
        Assert.NotEqual(first, next);
        Assert.Equal(Enumerable.Range(0, 50), next.Order());
    }

    [Fact]
    public async Task A_rank_outside_the_world_is_rejected()
    {
        var shard = _cluster.Client.GetGrain<IDatasetShardGrain>(new DatasetShardKey("synthetic-test", 10, 0, 0).ToString());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => shard.GetEpochSamplesAsync(0, 2, 2));
    }
}
