using Orleans.Placement;
using SegCluster.Abstractions.Grains;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// Deals out a shard's samples per epoch. The order is a pure function of (seed, shard, epoch), so every rank,
/// every restart and every node sees the same permutation; ranks take strided, disjoint slices of it.
/// Samples themselves are decoded, cached and augmented next to the worker (TrainingDataSources; tensors never
/// cross grain calls); the grain is placed on the silo of its first caller, next to those readers.
/// </summary>
[PreferLocalPlacement]
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
        var order = EpochOrder(_key, epoch);
        _cached = (epoch, order);
        return order;
    }

    /// <summary>
    /// The permutation of epoch <paramref name="epoch"/>: seeded System.Random (stable across processes and .NET
    /// versions for a given seed) with a seed mixed from (seed, shard, epoch) by SplitMix64, never by
    /// <see cref="HashCode"/>, whose seed is random per process.
    /// </summary>
    public static int[] EpochOrder(DatasetShardKey key, int epoch)
    {
        var order = Enumerable.Range(0, key.SampleCount).ToArray();
        ulong z = ((ulong)(uint)key.Seed << 32 | (uint)epoch) ^ ((ulong)(uint)key.Shard * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        new Random((int)((z ^ (z >> 31)) & int.MaxValue)).Shuffle(order);
        return order;
    }
}
