namespace SegCluster.Collectives.Tcp;

/// <summary>
/// The TCP ports on which this process's ranks listen for their predecessors (one per rank and ring).
/// A predecessor asks through the gRPC rendezvous; either side may come first: a lookup waits until
/// the rank registers. Closed ranks are refused, so a late peer of a disposed ring fails at once.
/// </summary>
public sealed class DataPlaneDirectory
{
    private readonly object _gate = new();
    private readonly Dictionary<(string GroupId, int Rank), TaskCompletionSource<int>> _ports = new();
    private readonly HashSet<(string GroupId, int Rank)> _closed = new();

    /// <summary>Records that <paramref name="rank"/> of <paramref name="groupId"/> listens on <paramref name="port"/>.</summary>
    public void Register(string groupId, int rank, int port)
    {
        lock (_gate)
        {
            _closed.Remove((groupId, rank));
            var slot = GetOrAdd((groupId, rank));
            if (!slot.TrySetResult(port))
            {
                // A new ring of the same group and rank replaces the old registration.
                _ports[(groupId, rank)] = CompletedSlot(port);
            }
        }
    }

    /// <summary>
    /// The port of <paramref name="rank"/>, waiting until it registers.
    /// Throws <see cref="InvalidOperationException"/> when that rank's ring was closed here.
    /// </summary>
    public async Task<int> LocateAsync(string groupId, int rank, CancellationToken cancellationToken)
    {
        TaskCompletionSource<int> slot;
        lock (_gate)
        {
            ThrowIfClosed(groupId, rank);
            slot = GetOrAdd((groupId, rank));
        }

        return await slot.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lifts a <see cref="Close"/> left by an earlier ring of the same group and rank.</summary>
    public void Open(string groupId, int rank)
    {
        lock (_gate)
        {
            _closed.Remove((groupId, rank));
        }
    }

    /// <summary>The rank's ring was disposed: forget its port, fail waiting lookups, refuse later ones.</summary>
    public void Close(string groupId, int rank)
    {
        TaskCompletionSource<int>? slot;
        lock (_gate)
        {
            _closed.Add((groupId, rank));
            _ports.Remove((groupId, rank), out slot);
        }

        slot?.TrySetException(Closed(groupId, rank));
    }

    private TaskCompletionSource<int> GetOrAdd((string GroupId, int Rank) key)
    {
        if (!_ports.TryGetValue(key, out var slot))
        {
            slot = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            _ports.Add(key, slot);
        }

        return slot;
    }

    private static TaskCompletionSource<int> CompletedSlot(int port)
    {
        var slot = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        slot.SetResult(port);
        return slot;
    }

    private void ThrowIfClosed(string groupId, int rank)
    {
        if (_closed.Contains((groupId, rank)))
        {
            throw Closed(groupId, rank);
        }
    }

    private static InvalidOperationException Closed(string groupId, int rank) =>
        new($"Rank {rank} of group '{groupId}' is closed here (its ring was disposed).");
}
