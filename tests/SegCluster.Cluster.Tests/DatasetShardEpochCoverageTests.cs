using Orleans.TestingHost;
using SegCluster.Abstractions.Grains;
using SegCluster.Cluster.Grains;

namespace SegCluster.Cluster.Tests;

/// <summary>Epoch coverage through a real silo: across W ranks every sample appears exactly once per epoch, and the
/// order is the same in every process (a golden permutation, so a per-process hash seed would fail it).</summary>
public sealed class DatasetShardEpochCoverageTests : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = new InProcessTestClusterBuilder(1).Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Theory]
    [InlineData(2, 96)]
    [InlineData(3, 96)]
    [InlineData(8, 96)]
    public async Task Every_sample_appears_exactly_once_per_epoch_across_the_ranks(int worldSize, int count)
    {
        var shard = _cluster.Client.GetGrain<IDatasetShardGrain>(new DatasetShardKey("coverage", count, Seed: 11, Shard: 0).ToString());
        for (var epoch = 0; epoch < 4; epoch++)
        {
            var slices = await Task.WhenAll(Enumerable.Range(0, worldSize).Select(r => shard.GetEpochSamplesAsync(epoch, r, worldSize)));
            var seen = new int[count];
            foreach (var index in slices.SelectMany(s => s)) seen[index]++;
            Assert.All(seen, n => Assert.Equal(1, n));
        }
    }

    [Fact]
    public void The_epoch_order_is_the_same_in_every_process()
    {
        var key = new DatasetShardKey("golden", 10, Seed: 3, Shard: 0);
        Assert.Equal(Golden, DatasetShardGrain.EpochOrder(key, epoch: 1));
    }

    private static readonly int[] Golden = [4, 2, 5, 7, 1, 6, 0, 9, 3, 8];
}
