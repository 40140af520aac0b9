using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// Rank 0's step losses as a coordinator keeps them in memory for its followers (<c>IExperimentGrain.GetLossesAsync</c>,
/// which a sweep's trial runner pages through by the last step it read): one point per step, in step order.
/// A re-formed ring redoes the steps after its checkpoint: <see cref="Rewind"/> drops them first, so a follower never
/// sees the steps go back and counts each step once in its moving mean.
/// Bounded: past the capacity, the older half is thinned to every other point (again at each overflow, so old stretches
/// grow sparser); the newer half stays whole: what a follower polling every few seconds reads, and the moving-mean
/// window a follower taking a run up from a step reads before it. Only a follower further behind sees a thinned stretch.
/// </summary>
public sealed class LossCurve
{
    /// <summary>Points kept at most: 16 bytes each, so a coordinator holds 64 KB however long its run.</summary>
    public const int DefaultCapacity = 4096;

    private readonly List<CurvePoint> _points = [];
    private readonly int _capacity;

    public LossCurve(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        _capacity = capacity;
    }

    public int Count => _points.Count;

    /// <summary>Adds <paramref name="point"/> in step order; a point of a step already kept replaces it.</summary>
    public void Add(CurvePoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        if (_points.Count == 0 || _points[^1].Step < point.Step) _points.Add(point);
        else
        {
            // Reports are not awaited, so one may overtake the one before it.
            int index = IndexAfter(point.Step - 1);
            if (index < _points.Count && _points[index].Step == point.Step) _points[index] = point;
            else _points.Insert(index, point);
        }
        if (_points.Count > _capacity) ThinOlderHalf();
    }

    /// <summary>Drops the points after <paramref name="step"/>: a ring re-formed from that step's checkpoint redoes them.</summary>
    public void Rewind(int step)
    {
        int first = IndexAfter(step);
        _points.RemoveRange(first, _points.Count - first);
    }

    /// <summary>The points after <paramref name="step"/>, in step order.</summary>
    public IReadOnlyList<CurvePoint> After(int step) => _points[IndexAfter(step)..];

    /// <summary>The index of the first point after <paramref name="step"/> (the count when there is none).</summary>
    private int IndexAfter(int step)
    {
        int low = 0, high = _points.Count;
        while (low < high)
        {
            int middle = (low + high) / 2;
            if (_points[middle].Step <= step) low = middle + 1;
            else high = middle;
        }
        return low;
    }

    private void ThinOlderHalf()
    {
        int half = _points.Count / 2;
        int kept = 0;
        for (int i = 0; i < half; i += 2) _points[kept++] = _points[i];
        _points.RemoveRange(kept, half - kept);
    }
}
