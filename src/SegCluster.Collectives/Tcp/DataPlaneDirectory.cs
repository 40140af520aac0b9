namespace SegCluster.Collectives.Tcp;

/// <summary>
/// The TCP ports on which this process's ranks listen for their predecessors (one per rank and ring).
/// A predecessor asks through the gRPC rendezvous; either side may come first: a lookup waits until
/// the rank registers. Closed ranks are refused, so a late peer of a disposed ring fails at once. A lookup that gives up
/// (its deadline passed) on a rank that never registered leaves nothing behind.
/// </summary>
public sealed class DataPlaneDirectory
{
    private readonly object _gate = new();
    private readonly Dictionary<(string GroupId, int Rank), Slot> _ports = new();
    private readonly ClosedRanks _closed = new();

    /// <summary>Registered and waited-for ranks (for tests of what is left behind).</summary>
    internal int SlotCount
    {
        get
        {
            lock (_gate)
            {
                return _ports.Count;
            }
        }
    }

    /// <summary>Records that <paramref name="rank"/> of <paramref name="groupId"/> listens on <paramref name="port"/>.</summary>
    public void Register(string groupId, int rank, int port)
    {
        lock (_gate)
        {
            _closed.Remove(groupId, rank);
            var slot = GetOrAdd((groupId, rank));
            if (!slot.Port.TrySetResult(port))
            {
                // A new ring of the same group and rank replaces the old registration.
                var replacement = new Slot();
                replacement.Port.SetResult(port);
                _ports[(groupId, rank)] = replacement;
            }
        }
    }

    /// <summary>
    /// The port of <paramref name="rank"/>, waiting until it registers.
    /// Throws <see cref="InvalidOperationException"/> when that rank's ring was closed here.
    /// </summary>
    public async Task<int> LocateAsync(string groupId, int rank, CancellationToken cancellationToken)
    {
        Slot slot;
        lock (_gate)
        {
            ThrowIfClosed(groupId, rank);
            slot = GetOrAdd((groupId, rank));
            slot.Waiters++;
        }

        try
        {
            return await slot.Port.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                if (--slot.Waiters == 0 && !slot.Port.Task.IsCompleted && _ports.TryGetValue((groupId, rank), out var current) && current == slot)
                {
                    _ports.Remove((groupId, rank));
                }
            }
        }
    }

    /// <summary>Lifts a <see cref="Close"/> left by an earlier ring of the same group and rank.</summary>
    public void Open(string groupId, int rank)
    {
        lock (_gate)
        {
            _closed.Remove(groupId, rank);
        }
    }

    /// <summary>The rank's ring was disposed: forget its port, fail waiting lookups, refuse later ones.</summary>
    public void Close(string groupId, int rank)
    {
        Slot? slot;
        lock (_gate)
        {
            _closed.Add(groupId, rank);
            _ports.Remove((groupId, rank), out slot);
        }

        slot?.Port.TrySetException(Closed(groupId, rank));
    }

    private Slot GetOrAdd((string GroupId, int Rank) key)
    {
        if (!_ports.TryGetValue(key, out var slot))
        {
            slot = new Slot();
            _ports.Add(key, slot);
        }

        return slot;
    }

    private void ThrowIfClosed(string groupId, int rank)
    {
        if (_closed.Contains(groupId, rank))
        {
            throw Closed(groupId, rank);
        }
    }

    private static InvalidOperationException Closed(string groupId, int rank) =>
        new($"Rank {rank} of group '{groupId}' is closed here (its ring was disposed).");

    /// <summary>A rank's port once registered; <see cref="Waiters"/> counts lookups still waiting (under the lock).</summary>
    private sealed class Slot
    {
        public TaskCompletionSource<int> Port { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Waiters { get; set; }
    }
}
