namespace SegCluster.Vision.Training;

/// <summary>
/// Sums a float buffer in place across all ranks of a data-parallel group. Blocking: called on the
/// training thread. Every rank must call <see cref="Sum"/> the same number of times with buffers of
/// equal length, in the same order; the result is identical on every rank. The trainer's seam to the
/// collectives (DESIGN.md: Cluster wires it to the ring all-reduce over TCP or gRPC, or to the in-memory group of one
/// node; tests to <see cref="InMemoryReducerGroup"/>).
/// </summary>
public interface IGradientReducer
{
    /// <summary>This rank, in [0, WorldSize).</summary>
    int Rank { get; }

    /// <summary>Number of ranks in the group.</summary>
    int WorldSize { get; }

    /// <summary>Replaces <paramref name="buffer"/> with the element-wise sum over all ranks' buffers. The buffer is a
    /// float[] or a slice of one (a bucket of the flat gradient); network reducers send from the array itself.</summary>
    void Sum(Memory<float> buffer);

    /// <summary>As <see cref="Sum"/>, but never through a lossy wire format (fp16 compression of gradients): for values
    /// that must arrive as they are, such as weights broadcast from rank 0. Every rank calls it where the others do.</summary>
    void SumFullPrecision(Memory<float> buffer) => Sum(buffer);
}
