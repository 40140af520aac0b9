namespace SegCluster.Cluster.Telemetry;

/// <summary>
/// The finished experiments or sweeps whose last values a gauge still exports, newest last. Each label value is a
/// Prometheus series for as long as it is exported, so a node that runs thousands of sweep trials must drop them:
/// the last <see cref="Capacity"/> finished stay (a scrape or dashboard still sees a result that just came in),
/// older ones are handed back to be removed. Thread-safe.
/// </summary>
internal sealed class FinishedSeries<TKey>(int capacity) where TKey : notnull
{
    private readonly Queue<TKey> _order = new();
    private readonly HashSet<TKey> _finished = [];
    private readonly Lock _lock = new();

    public int Capacity { get; } = capacity > 0 ? capacity
        : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "At least one finished series must be kept.");

    /// <summary>Marks <paramref name="key"/> finished (again: no change); returns the keys now past the capacity, oldest first.</summary>
    public IReadOnlyList<TKey> Finish(TKey key)
    {
        lock (_lock)
        {
            if (!_finished.Add(key)) return [];
            _order.Enqueue(key);
            var dropped = new List<TKey>();
            while (_order.Count > Capacity)
            {
                var oldest = _order.Dequeue();
                _finished.Remove(oldest);
                dropped.Add(oldest);
            }
            return dropped;
        }
    }

    /// <summary>Takes <paramref name="key"/> off the finished list (it reports again): it is not dropped while it runs.</summary>
    public void Reopen(TKey key)
    {
        lock (_lock)
        {
            if (!_finished.Remove(key)) return;
            var others = _order.Where(k => !EqualityComparer<TKey>.Default.Equals(k, key)).ToList();
            _order.Clear();
            foreach (var other in others) _order.Enqueue(other);
        }
    }
}
