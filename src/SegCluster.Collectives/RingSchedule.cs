namespace SegCluster.Collectives;

/// <summary>
/// Which segment rank r sends and receives at each of the 2·(W−1) ring steps: reduce-scatter step
/// s = 0..W−2 sends segment (r−s) and adds the received segment (r−s−1), after which rank r owns the
/// full sum of segment (r+1); all-gather step s sends segment (r+1−s) and overwrites segment (r−s).
/// The segment received at step s is the one sent at step s+1.
/// </summary>
internal readonly record struct RingSchedule(int Rank, int WorldSize)
{
    public int Steps => 2 * (WorldSize - 1);

    /// <summary>The rank this one sends to.</summary>
    public int Next => (Rank + 1) % WorldSize;

    /// <summary>The rank this one receives from.</summary>
    public int Previous => (Rank - 1 + WorldSize) % WorldSize;

    /// <summary>Steps from here on copy the received segment instead of adding it.</summary>
    public bool IsGather(int step) => step >= WorldSize - 1;

    public int SendSegment(int step, RingSegments segments)
    {
        var s = IsGather(step) ? step - (WorldSize - 1) : step;
        return segments.Wrap(IsGather(step) ? Rank + 1 - s : Rank - s);
    }

    public int ReceiveSegment(int step, RingSegments segments)
    {
        var s = IsGather(step) ? step - (WorldSize - 1) : step;
        return segments.Wrap(IsGather(step) ? Rank - s : Rank - s - 1);
    }
}
