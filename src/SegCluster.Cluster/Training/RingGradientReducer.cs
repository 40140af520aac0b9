using SegCluster.Collectives;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Training;

/// <summary>
/// The trainer's <see cref="IGradientReducer"/> seam wired to the gRPC ring. Blocking by contract: it runs
/// on the worker's dedicated training thread, as DDP's wait() does.
/// </summary>
public sealed class RingGradientReducer(RingAllReduce ring, CancellationToken cancellationToken) : IGradientReducer
{
    public int Rank => ring.Rank;
    public int WorldSize => ring.WorldSize;

    public void Sum(Memory<float> buffer) => ring.SumAsync(buffer, cancellationToken).GetAwaiter().GetResult();

    public void SumFullPrecision(Memory<float> buffer) => ring.SumAsync(buffer, fullPrecision: true, cancellationToken).GetAwaiter().GetResult();
}
