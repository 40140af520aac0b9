namespace SegCluster.Collectives;

/// <summary>
/// Ranks whose ring was disposed in this process, so late chunks and lookups for them fail at once. Every ring
/// re-formation closes ranks under a new group id, so only the latest <see cref="Capacity"/> are remembered: a peer of a
/// ring closed longer ago is not refused at once but waits out its own timeout. Not thread-safe: callers hold their lock.
/// </summary>
internal sealed class ClosedRanks
{
    public const int Capacity = 4096;

    private readonly HashSet<(string GroupId, int Rank)> _set = new();
    private readonly Queue<(string GroupId, int Rank)> _order = new();

    public bool Contains(string groupId, int rank) => _set.Contains((groupId, rank));

    public int Count => _set.Count;

    public void Add(string groupId, int rank)
    {
        if (!_set.Add((groupId, rank)))
        {
            return;
        }

        _order.Enqueue((groupId, rank));
        while (_set.Count > Capacity)
        {
            _set.Remove(_order.Dequeue());
        }

        // Entries removed by Remove stay queued; drop them once they dominate, so the queue stays bounded too.
        if (_order.Count > 2 * Capacity)
        {
            var live = _order.Where(_set.Contains).ToArray();
            _order.Clear();
            foreach (var key in live) _order.Enqueue(key);
        }
    }

    public void Remove(string groupId, int rank) => _set.Remove((groupId, rank));
}
