using System.Numerics.Tensors;

namespace SegCluster.Vision.Training;

/// <summary>
/// Ranks as threads of one process, for tests and single-machine runs. A sum is exact and
/// deterministic: each rank adds the buffers of its 1/W slice in rank order (0, 1, ..., W-1) into one shared
/// result that every rank copies, so all ranks get bit-identical results. Two barrier phases per call: "all buffers posted" then "all sums read".
/// A rank that does not arrive in time makes the others throw <see cref="TimeoutException"/> instead of hanging: the
/// first call is the rendezvous (the other ranks may still be building models or loading checkpoints and data), bounded
/// by connectTimeout as the network ring's is by Collectives:ConnectTimeout; every later barrier by timeout (Collectives:Timeout).
/// A node's group under the ring of node leaders has a two-call rendezvous: between its first two calls the leader waits
/// for the other nodes, which may start as late as ConnectTimeout allows.
/// </summary>
public sealed class InMemoryReducerGroup
{
    private readonly Barrier _barrier;
    private readonly Memory<float>[] _posted;
    private readonly Rank[] _ranks;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _connectTimeout;
    private readonly int _rendezvousPhases;
    private float[] _result = [];

    public InMemoryReducerGroup(int worldSize) : this(worldSize, TimeSpan.FromMinutes(2)) { }

    /// <summary>A group whose rendezvous (first barrier) is bounded by <paramref name="timeout"/> like every other barrier.</summary>
    public InMemoryReducerGroup(int worldSize, TimeSpan timeout) : this(worldSize, timeout, timeout) { }

    /// <param name="timeout">How long a rank waits for the others at each barrier after the rendezvous.</param>
    /// <param name="connectTimeout">How long a rank waits for the others during the rendezvous.</param>
    /// <param name="rendezvousCalls">Leading calls bounded by <paramref name="connectTimeout"/>: 1, or 2 for a node's group under a
    /// ring of node leaders (the second waits while the leader meets the other nodes).</param>
    public InMemoryReducerGroup(int worldSize, TimeSpan timeout, TimeSpan connectTimeout, int rendezvousCalls = 1)
    {
        if (worldSize < 1)
            throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "worldSize must be >= 1");
        ArgumentOutOfRangeException.ThrowIfLessThan(rendezvousCalls, 1);
        WorldSize = worldSize;
        _timeout = timeout;
        _connectTimeout = connectTimeout;
        _rendezvousPhases = 2 * rendezvousCalls;  // two barriers a call
        _barrier = new Barrier(worldSize);
        _posted = new Memory<float>[worldSize];
        _ranks = Enumerable.Range(0, worldSize).Select(r => new Rank(this, r)).ToArray();
    }

    public int WorldSize { get; }

    /// <summary>The reducer of rank <paramref name="rank"/>; use each from one thread only.</summary>
    public IGradientReducer this[int rank] => _ranks[rank];

    /// <summary>Rank <paramref name="rank"/>'s reducer whose waits end with <see cref="OperationCanceledException"/> when
    /// <paramref name="cancellation"/> fires (a cancelled run must not sit in the barrier for the whole timeout).
    /// A group whose rank was cancelled is broken: abandon it.</summary>
    public IGradientReducer Cancellable(int rank, CancellationToken cancellation) => new Rank(this, rank, cancellation);

    private void Sum(int rank, Memory<float> buffer, CancellationToken cancellation)
    {
        _posted[rank] = buffer;
        Wait(rank, cancellation);
        foreach (var other in _posted)
        {
            if (other.Length != buffer.Length)
            {
                Wait(rank, cancellation);  // every rank sees the mismatch; leave the barrier in step before throwing
                throw new InvalidOperationException(
                    $"rank {rank}: all-reduce buffers differ in length ({string.Join(", ", _posted.Select(p => p.Length))})");
            }
        }
        float[] result;
        lock (_posted)
        {
            // Every rank of this call sees the same length, so only the first grows it (buckets of one step differ in length:
            // the largest is kept); the previous call's result was copied out by every rank before any of them passed this
            // call's first barrier.
            if (_result.Length < buffer.Length) _result = new float[buffer.Length];
            result = _result;
        }
        // Each rank sums its own slice (1/W of the work, vectorised), adding the ranks in order 0, 1, ..., W-1.
        var (start, end) = ((int)((long)buffer.Length * rank / WorldSize), (int)((long)buffer.Length * (rank + 1) / WorldSize));
        var slice = result.AsSpan(start, end - start);
        _posted[0].Span.Slice(start, end - start).CopyTo(slice);
        for (int r = 1; r < _posted.Length; r++) TensorPrimitives.Add(slice, _posted[r].Span.Slice(start, end - start), slice);
        Wait(rank, cancellation);  // every slice is summed, and nobody overwrites a posted buffer before every rank has read it
        result.AsSpan(0, buffer.Length).CopyTo(buffer.Span);
    }

    private void Wait(int rank, CancellationToken cancellation)
    {
        // The current phase cannot end before this rank signals, so reading it first tells the rendezvous apart from later barriers.
        var (setting, limit, what) = _barrier.CurrentPhaseNumber < _rendezvousPhases
            ? ("ConnectTimeout", _connectTimeout, "the first all-reduce (the rendezvous)")
            : ("Timeout", _timeout, "the all-reduce");
        if (!_barrier.SignalAndWait(limit, cancellation))
            throw new TimeoutException($"rank {rank}: not all {WorldSize} ranks reached {what} within {setting} {limit}");
    }

    private sealed class Rank(InMemoryReducerGroup group, int rank, CancellationToken cancellation = default) : IGradientReducer
    {
        int IGradientReducer.Rank => rank;

        public int WorldSize => group.WorldSize;

        public void Sum(Memory<float> buffer) => group.Sum(rank, buffer, cancellation);
    }
}
