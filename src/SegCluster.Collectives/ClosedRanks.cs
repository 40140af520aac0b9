namespace SegCluster.Collectives;

/// <summary>
/// Ranks whose ring was disposed in this process, so late chunks and lookups for them fail at once. Every ring
/// re-formation closes ranks under a new group id, so only the latest <see cref="Capacity"/> are remembered: a peer of a
/// ring closed longer ago is not refused at once but waits out its own timeout. Not thread-safe: callers hold their lock.
/// </summary>
internal sealed class ClosedRanks
{
    public const int Capacity = 4096;

    // Each close gets a generation: a key closed, reopened (Remove) and closed again is queued twice, and only the
    // entry of its current generation may evict it.
    private readonly Dictionary<(string GroupId, int Rank), long> _closed = new();
    private readonly Queue<((string GroupId, int Rank) Key, long Generation)> _order = new();
    private long _generation;

    public bool Contains(string groupId, int rank) => _closed.ContainsKey((groupId, rank));

    public int Count => _closed.Count;

    public void Add(string groupId, int rank)
    {
        var key = (groupId, rank);
        if (_closed.ContainsKey(key))
        {
            return;
        }

        _closed[key] = ++_generation;
        _order.Enqueue((key, _generation));
        while (_closed.Count > Capacity)
        {
            var (oldest, generation) = _order.Dequeue();
            if (_closed.TryGetValue(oldest, out var current) && current == generation) _closed.Remove(oldest);
        }

        // Entries of reopened keys stay queued; drop them once they dominate, so the queue stays bounded too.
        if (_order.Count > 2 * Capacity)
        {
            var live = _order.Where(e => _closed.TryGetValue(e.Key, out var g) && g == e.Generation).ToArray();
            _order.Clear();
            foreach (var entry in live) _order.Enqueue(entry);
        }
    }

    public void Remove(string groupId, int rank) => _closed.Remove((groupId, rank));
}
