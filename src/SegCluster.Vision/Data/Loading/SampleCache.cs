namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// In-memory LRU cache of samples by index, bounded in bytes rather than entries (samples of real datasets vary in
/// size). Thread-safe: the ranks of a node share one instance. A miss loads outside the lock, so two threads that
/// miss on the same index may both load it (the second insert wins; nothing is corrupted).
/// </summary>
public sealed class SampleCache<T>(long byteBudget, Func<T, long> sizeOf) where T : class
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, LinkedListNode<(int Index, T Value, long Bytes)>> _entries = new();
    private readonly LinkedList<(int Index, T Value, long Bytes)> _recency = new();  // first = most recent
    private long _bytes, _hits, _misses, _evictions;

    public long ByteBudget { get; } = byteBudget >= 0 ? byteBudget : throw new ArgumentOutOfRangeException(nameof(byteBudget), byteBudget, "the cache budget must be >= 0 bytes (0 disables caching).");

    public SampleCacheStatistics Statistics
    {
        get { lock (_lock) return new SampleCacheStatistics(_hits, _misses, _evictions, _bytes, _entries.Count, ByteBudget); }
    }

    /// <summary>The cached value of <paramref name="index"/>, or <paramref name="load"/>'s result, cached if it fits the budget.</summary>
    public T GetOrLoad(int index, Func<int, T> load)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(index, out var node))
            {
                _hits++;
                _recency.Remove(node);
                _recency.AddFirst(node);
                return node.Value.Value;
            }
            _misses++;
        }
        var value = load(index);
        Add(index, value);
        return value;
    }

    private void Add(int index, T value)
    {
        var bytes = sizeOf(value);
        if (bytes > ByteBudget) return;
        lock (_lock)
        {
            if (_entries.Remove(index, out var old))
            {
                _recency.Remove(old);
                _bytes -= old.Value.Bytes;
            }
            while (_bytes + bytes > ByteBudget && _recency.Last is { } lru)
            {
                _recency.RemoveLast();
                _entries.Remove(lru.Value.Index);
                _bytes -= lru.Value.Bytes;
                _evictions++;
            }
            _entries[index] = _recency.AddFirst((index, value, bytes));
            _bytes += bytes;
        }
    }
}
