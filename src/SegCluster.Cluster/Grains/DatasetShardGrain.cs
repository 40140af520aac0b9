using SegCluster.Abstractions.Grains;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// Deals out a shard's samples per epoch. The order is a pure function of (seed, epoch), so every rank,
/// every restart and every node sees the same permutation; ranks take strided, disjoint slices of it.
/// Samples themselves are generated or read next to the worker (tensors never cross grain calls).
/// </summary>
public sealed class DatasetShardGrain : Grain, IDatasetShardGrain
{
    private DatasetShardKey _key = null!;
    private (int Epoch, int[] Order)? _cached;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = DatasetShardKey.Parse(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public Task<int> GetSampleCountAsync() => Task.FromResult(_key.SampleCount);

    public Task<int[]> GetEpochSamplesAsync(int epoch, int rank, int worldSize)
    {
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is not in a world of {worldSize}.");
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), $"epoch {epoch} must be non-negative.");
        var order = EpochOrder(epoch);
        var perRank = order.Length / worldSize;
        var slice = new int[perRank];
        for (var i = 0; i < perRank; i++) slice[i] = order[rank + i * worldSize];
        return Task.FromResult(slice);
    }

    private int[] EpochOrder(int epoch)
    {
        if (_cached is { } c && c.Epoch == epoch) return c.Order;
        var order = Enumerable.Range(0, _key.SampleCount).ToArray();
        // Seeded System.Random is stable across .NET versions; mix seed and epoch so epochs differ.
        new Random(HashCode.Combine(_key.Seed, epoch, _key.Shard) & int.MaxValue).Shuffle(order);
        _cached = (epoch, order);
        return order;
    }
}
