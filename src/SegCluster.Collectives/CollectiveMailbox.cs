namespace SegCluster.Collectives;

/// <summary>
/// One per process (DI singleton). The gRPC service deposits chunks addressed to local ranks; the
/// local <see cref="RingAllReduce"/> of each rank takes them. Either side may come first: a chunk
/// that arrives before its receiver asks is parked, a receiver that asks first waits.
/// </summary>
/// <remarks>
/// Memory is bounded by the protocol, not by a window: a rank at step k needs its successor only to have
/// finished step k − W + 1 (what it forwards went round the rest of the ring first), so up to W − 1 segments,
/// about (W − 1)/W of a call's buffer, can be parked per local rank (gRPC transport; the TCP transport parks nothing,
/// its socket buffers apply backpressure). A plain lock guards the table: operations are tiny next to a network round trip.
/// Chunks nobody takes (their receiver failed or never ran) are dropped after <see cref="Retention"/>, which the node
/// sets from its <see cref="CollectiveOptions"/> (<see cref="RetentionFor"/>): a receiver may start as late as its
/// predecessor's ConnectTimeout allows, and its chunks must still be here then.
/// </remarks>
public sealed class CollectiveMailbox
{
    /// <summary>How long an untaken chunk is kept when none is given, and at least (<see cref="RetentionFor"/>).</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromMinutes(10);

    /// <summary>Longest retention <see cref="RetentionFor"/> gives: beyond it, chunks are as good as never dropped.</summary>
    private static readonly TimeSpan MaxRetention = TimeSpan.FromDays(365);

    private readonly object _gate = new();
    private readonly Dictionary<ChunkKey, TaskCompletionSource<ChunkMessage>> _slots = new();
    private readonly Dictionary<ChunkKey, DateTimeOffset> _depositedAt = new();
    private readonly TimeProvider _time;
    private DateTimeOffset _nextSweep;

    // Ranks whose RingAllReduce was disposed: late chunks for them are refused instead of parked.
    // A new ring of the same group and rank lifts it (Open). Grows by one entry per rank per formation.
    private readonly ClosedRanks _closed = new();

    // Operations a predecessor gave up (see Abort), with when the abort came: swept like chunks, forgotten on Close.
    private readonly Dictionary<(string GroupId, int Rank, long Sequence), (AbortMessage Abort, DateTimeOffset At)> _aborts = new();

    public CollectiveMailbox()
        : this(TimeProvider.System, DefaultRetention)
    {
    }

    public CollectiveMailbox(TimeProvider timeProvider, TimeSpan retention)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retention, TimeSpan.Zero);
        _time = timeProvider;
        Retention = retention;
        _nextSweep = _time.GetUtcNow() + retention;
    }

    /// <summary>
    /// The retention for a node with <paramref name="options"/>: twice the longest a receiver may come after its chunk was
    /// parked (ConnectTimeout while its ring forms: a rank may start that much later than its predecessor; Timeout
    /// after), so a late rank that its peers still wait for finds its chunks. Never below <see cref="DefaultRetention"/>.
    /// </summary>
    public static TimeSpan RetentionFor(CollectiveOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var longest = options.ConnectTimeout > options.Timeout ? options.ConnectTimeout : options.Timeout;
        var twice = longest >= MaxRetention / 2 ? MaxRetention : 2 * longest;
        return twice > DefaultRetention ? twice : DefaultRetention;
    }

    /// <summary>
    /// Where the local ranks of TCP rings listen for their predecessor's data connection; the gRPC
    /// service answers the rendezvous from it. Lives here so the one per-process rendezvous object
    /// serves both transports.
    /// </summary>
    public Tcp.DataPlaneDirectory DataPlane { get; } = new();

    /// <summary>Age after which a deposited chunk that no receiver took is dropped.</summary>
    public TimeSpan Retention { get; }

    /// <summary>Chunks deposited but not yet taken, plus receivers still waiting.</summary>
    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _slots.Count;
            }
        }
    }

    /// <summary>Number of chunks deposited and not yet taken by their receiver.</summary>
    public int DepositedCount
    {
        get
        {
            lock (_gate)
            {
                return _slots.Values.Count(s => s.Task.IsCompleted);
            }
        }
    }

    /// <summary>
    /// Parks <paramref name="message"/> for its destination rank. Returns false when that rank's ring
    /// was closed, or when a chunk with the same key is already there (a duplicate). A chunk of an operation
    /// its destination was told to give up (<see cref="Abort"/>) is accepted and dropped: nobody will take it.
    /// </summary>
    public bool Deposit(ChunkMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var key = new ChunkKey(message.GroupId, message.DestinationRank, message.Sequence, message.Step, message.Chunk);
        TaskCompletionSource<ChunkMessage> slot;
        lock (_gate)
        {
            if (_closed.Contains(key.GroupId, key.Rank))
            {
                return false;
            }

            var now = _time.GetUtcNow();
            SweepExpired(now);
            if (_aborts.ContainsKey((key.GroupId, key.Rank, key.Sequence)))
            {
                return true;
            }

            slot = GetOrAddSlot(key);
            if (slot.Task.IsCompleted)
            {
                return false;
            }

            _depositedAt[key] = now;
        }

        // Completed outside the lock: continuations run asynchronously anyway (see GetOrAddSlot).
        return slot.TrySetResult(message);
    }

    /// <summary>
    /// Waits for the chunk at <paramref name="key"/> and removes it from the mailbox.
    /// Throws <see cref="TimeoutException"/> when it does not arrive within <paramref name="timeout"/> (of the mailbox's clock),
    /// <see cref="RingAbortedException"/> when its sender gave the operation up (now or earlier),
    /// <see cref="OperationCanceledException"/> on cancellation.
    /// </summary>
    public async Task<ChunkMessage> ReceiveAsync(ChunkKey key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        TaskCompletionSource<ChunkMessage> slot;
        lock (_gate)
        {
            if (_closed.Contains(key.GroupId, key.Rank))
            {
                throw new ObjectDisposedException(nameof(CollectiveMailbox), $"Rank {key.Rank} of group '{key.GroupId}' was closed.");
            }

            if (_aborts.TryGetValue((key.GroupId, key.Rank, key.Sequence), out var aborted))
            {
                throw new RingAbortedException(aborted.Abort);
            }

            slot = GetOrAddSlot(key);
        }

        try
        {
            return await slot.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                // Only remove our own slot: Close/Purge may already have replaced the table entry.
                if (_slots.TryGetValue(key, out var current) && ReferenceEquals(current, slot))
                {
                    _slots.Remove(key);
                    _depositedAt.Remove(key);
                }
            }
        }
    }

    /// <summary>
    /// Called when a rank's ring is created: lifts a <see cref="Close"/> left by an earlier ring of the
    /// same group and rank in this process. Group ids should still be unique per ring formation: a
    /// peer that deposits before this call would be refused.
    /// </summary>
    public void Open(string groupId, int rank)
    {
        lock (_gate)
        {
            _closed.Remove(groupId, rank);
        }

        DataPlane.Open(groupId, rank);
    }

    /// <summary>Drops parked chunks of one failed operation of one rank.</summary>
    public void Purge(string groupId, int rank, long sequence)
    {
        lock (_gate)
        {
            RemoveWhere(k => k.GroupId == groupId && k.Rank == rank && k.Sequence == sequence);
        }
    }

    /// <summary>
    /// Records that the destination rank's predecessor gave up operation <see cref="AbortMessage.Sequence"/>: its waiting
    /// receivers of that operation fail now with <see cref="RingAbortedException"/>, later ones at once, and its parked
    /// chunks are dropped. Returns false (and records nothing) when that rank's ring was closed here.
    /// </summary>
    public bool Abort(AbortMessage abort)
    {
        ArgumentNullException.ThrowIfNull(abort);
        List<TaskCompletionSource<ChunkMessage>> waiting;
        lock (_gate)
        {
            if (_closed.Contains(abort.GroupId, abort.DestinationRank))
            {
                return false;
            }

            var now = _time.GetUtcNow();
            SweepExpired(now);
            _aborts[(abort.GroupId, abort.DestinationRank, abort.Sequence)] = (abort, now);
            waiting = RemoveWhere(k => k.GroupId == abort.GroupId && k.Rank == abort.DestinationRank && k.Sequence == abort.Sequence);
        }

        foreach (var slot in waiting)
        {
            slot.TrySetException(new RingAbortedException(abort));
        }

        return true;
    }

    /// <summary>
    /// Called when a rank's ring is disposed: drops its parked chunks, fails its waiting receivers and
    /// refuses later deposits for it.
    /// </summary>
    public void Close(string groupId, int rank)
    {
        List<TaskCompletionSource<ChunkMessage>> removed;
        lock (_gate)
        {
            _closed.Add(groupId, rank);
            removed = RemoveWhere(k => k.GroupId == groupId && k.Rank == rank);
            foreach (var key in _aborts.Keys.Where(k => k.GroupId == groupId && k.Rank == rank).ToList())
            {
                _aborts.Remove(key);
            }
        }

        foreach (var slot in removed)
        {
            slot.TrySetException(new ObjectDisposedException(nameof(CollectiveMailbox), $"Rank {rank} of group '{groupId}' was closed."));
        }

        DataPlane.Close(groupId, rank);
    }

    private TaskCompletionSource<ChunkMessage> GetOrAddSlot(ChunkKey key)
    {
        if (!_slots.TryGetValue(key, out var slot))
        {
            // RunContinuationsAsynchronously: the depositing gRPC handler must not run the receiver's
            // summation loop inline.
            slot = new TaskCompletionSource<ChunkMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
            _slots.Add(key, slot);
        }

        return slot;
    }

    private List<TaskCompletionSource<ChunkMessage>> RemoveWhere(Func<ChunkKey, bool> predicate)
    {
        var removed = new List<TaskCompletionSource<ChunkMessage>>();
        foreach (var key in _slots.Keys.Where(predicate).ToList())
        {
            removed.Add(_slots[key]);
            _slots.Remove(key);
            _depositedAt.Remove(key);
        }

        return removed;
    }

    // Lazy, at most once per Retention: drop chunks deposited, and aborts recorded, longer than Retention ago.
    private void SweepExpired(DateTimeOffset now)
    {
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + Retention;
        var cutoff = now - Retention;
        foreach (var (key, _) in _depositedAt.Where(entry => entry.Value <= cutoff).ToList())
        {
            _slots.Remove(key);
            _depositedAt.Remove(key);
        }

        foreach (var (key, _) in _aborts.Where(entry => entry.Value.At <= cutoff).ToList())
        {
            _aborts.Remove(key);
        }
    }
}
