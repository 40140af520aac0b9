using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Training;

/// <summary>
/// Two-level all-reduce (DESIGN.md "intra-process workers reduced in memory before the network ring"): the ranks
/// of one node sum in memory, the node's leader (local rank 0) sums the node totals over the cross-node ring,
/// and the leader's global sum reaches the other local ranks by a second in-memory sum in which they contribute
/// zeros (x + 0 = x exactly, so every rank ends bit-identical to the leader). The network carries one buffer per
/// node instead of one per worker. A composition: the ring itself is unchanged.
/// Contract: every local rank calls <see cref="Sum"/> together (the in-memory group is a barrier); a failure of the
/// cross-node ring on the leader propagates to the other local ranks as the in-memory group's timeout.
/// </summary>
public sealed class HierarchicalGradientReducer : IGradientReducer
{
    private readonly IGradientReducer _local;
    private readonly IGradientReducer? _acrossNodes;

    /// <param name="local">This rank in the node's in-memory group.</param>
    /// <param name="acrossNodes">The ring of node leaders; given on local rank 0 only, null on the others.</param>
    /// <param name="rank">This rank in the whole job.</param>
    /// <param name="worldSize">Ranks in the whole job (all nodes, all local ranks).</param>
    public HierarchicalGradientReducer(IGradientReducer local, IGradientReducer? acrossNodes, int rank, int worldSize)
    {
        if ((local.Rank == 0) != (acrossNodes is not null))
            throw new ArgumentException(
                $"local rank {local.Rank}: the cross-node ring belongs to the node's leader (local rank 0) and to no other rank.",
                nameof(acrossNodes));
        if (worldSize < local.WorldSize || rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize}) and the world at least the node's {local.WorldSize} ranks.");
        (_local, _acrossNodes, Rank, WorldSize) = (local, acrossNodes, rank, worldSize);
    }

    public int Rank { get; }
    public int WorldSize { get; }

    public void Sum(Memory<float> buffer) => Sum(buffer, fullPrecision: false);

    public void SumFullPrecision(Memory<float> buffer) => Sum(buffer, fullPrecision: true);

    private void Sum(Memory<float> buffer, bool fullPrecision)
    {
        _local.Sum(buffer);                                  // every local rank: the node's sum (in memory: fp32)
        if (_acrossNodes is null) buffer.Span.Clear();      // others: contribute nothing to the broadcast
        else if (fullPrecision) _acrossNodes.SumFullPrecision(buffer);  // leader: the global sum
        else _acrossNodes.Sum(buffer);
        _local.Sum(buffer);                                  // everyone: leader's global sum + zeros
    }
}
