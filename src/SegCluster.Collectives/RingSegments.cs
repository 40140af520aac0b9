namespace SegCluster.Collectives;

/// <summary>
/// Partition of a buffer of <c>length</c> floats into <c>worldSize</c> contiguous segments whose
/// lengths differ by at most one (the first <c>length % worldSize</c> are one longer). Segments are
/// empty when length &lt; worldSize. Every rank computes the same partition from the length alone.
/// </summary>
internal readonly record struct RingSegments(int Length, int WorldSize)
{
    public int Start(int segment)
    {
        var (size, remainder) = Math.DivRem(Length, WorldSize);
        return segment * size + Math.Min(segment, remainder);
    }

    public int Count(int segment)
    {
        var (size, remainder) = Math.DivRem(Length, WorldSize);
        return size + (segment < remainder ? 1 : 0);
    }

    /// <summary>Non-negative <paramref name="value"/> mod world size, for ring arithmetic like r − s − 1.</summary>
    public int Wrap(int value) => ((value % WorldSize) + WorldSize) % WorldSize;
}
