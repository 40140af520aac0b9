using System.Diagnostics;
using System.Runtime.InteropServices;
using SegCluster.Collectives.Tcp;

namespace SegCluster.Collectives;

/// <summary>
/// One rank's endpoint of a bandwidth-optimal ring all-reduce (reduce-scatter, then all-gather).
/// Rank r sends to (r+1) mod W and receives from (r−1) mod W; each rank sends 2·(W−1)/W of the
/// buffer per call regardless of W. The chunks travel over <see cref="CollectiveOptions.Transport"/>:
/// plain TCP by default (gRPC only for the rendezvous), or unary gRPC calls.
/// </summary>
/// <remarks>
/// Protocol of call n (sequence n) with the buffer cut into W segments (see <see cref="RingSegments"/>
/// and <see cref="RingSchedule"/>); segments travel as chunks of at most ChunkBytes. Every element is
/// summed exactly once along the ring and then copied, so all ranks end bit-identical.
/// </remarks>
public sealed class RingAllReduce : IAsyncDisposable, IDisposable
{
    private readonly RingGroup _group;
    private readonly CollectiveMailbox _mailbox;
    private readonly IRingTransport? _transport;
    private long _sequence;
    private int _busy;
    private bool _disposed;

    /// <summary>
    /// Creates rank <paramref name="rank"/>'s end of the ring. With the TCP transport it starts listening for
    /// its predecessor's data connection now (registered in <paramref name="mailbox"/>'s
    /// <see cref="CollectiveMailbox.DataPlane"/> for the rendezvous) and connects to its successor on the first call.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid group, rank or options (message names the setting).</exception>
    public RingAllReduce(RingGroup group, int rank, CollectiveMailbox mailbox, CollectiveOptions options)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(mailbox);
        group.Validate();
        CollectiveOptionsValidator.ThrowIfInvalid(options);
        if (rank < 0 || rank >= group.WorldSize)
        {
            throw new ArgumentOutOfRangeException(
                nameof(rank), rank, $"Rank must be in [0, {group.WorldSize}) for group '{group.GroupId}'.");
        }

        // Payloads are raw native-order floats; every supported .NET platform is little-endian.
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("The collective wire format assumes a little-endian machine.");
        }

        _group = group;
        _mailbox = mailbox;
        Rank = rank;
        WorldSize = group.WorldSize;
        Transport = options.Transport;
        _mailbox.Open(group.GroupId, rank);
        if (WorldSize > 1)
        {
            var copy = options.Clone();
            var failures = new RingFailures(group, rank, copy.Timeout);
            try
            {
                _transport = copy.Transport == RingTransport.Tcp
                    ? new TcpRingTransport(group, rank, mailbox.DataPlane, copy, failures)
                    : new GrpcRingTransport(group, rank, mailbox, copy, failures);
            }
            catch
            {
                // No ring to dispose later: close what Open lifted, so peers' lookups and chunks fail now instead of waiting.
                _mailbox.Close(group.GroupId, rank);
                throw;
            }
        }
    }

    public int Rank { get; }

    public int WorldSize { get; }

    public RingGroup Group => _group;

    /// <summary>The transport this ring's chunks travel over.</summary>
    public RingTransport Transport { get; }

    /// <summary>
    /// Sums <paramref name="buffer"/> element-wise across all ranks, in place. Every rank must call it
    /// the same number of times, in the same order, with the same length; calls on one instance must
    /// not overlap. W = 1 completes without network traffic. The buffer must be array-backed (a float[] or
    /// a slice of one, such as one bucket of a flat gradient): chunks are sent from and received into it directly.
    /// </summary>
    /// <exception cref="CollectiveException">A peer is unreachable or rejected the connection or a chunk, a
    /// chunk did not arrive within Timeout, or the ranks' buffer lengths differ. The buffer is then
    /// unspecified; with the TCP transport the ring is then broken (later calls fail too): re-form it.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<AllReduceStats> SumAsync(Memory<float> buffer, CancellationToken cancellationToken = default) => SumAsync(buffer, fullPrecision: false, cancellationToken);

    /// <summary>As <see cref="SumAsync(Memory{float}, CancellationToken)"/>; with <paramref name="fullPrecision"/> the
    /// payload travels in fp32 even where <see cref="CollectiveOptions.Wire"/> is fp16 (values that must arrive as they
    /// are, such as weights broadcast from rank 0). Every rank must pass the same value.</summary>
    public async Task<AllReduceStats> SumAsync(Memory<float> buffer, bool fullPrecision, CancellationToken cancellationToken = default)
    {
        if (!MemoryMarshal.TryGetArray<float>(buffer, out var segment))
        {
            throw new ArgumentException("the buffer must be backed by a float[] (the transports send from the array itself).", nameof(buffer));
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _busy, 1) == 1)
        {
            throw new InvalidOperationException(
                $"Group '{_group.GroupId}' rank {Rank}: SumAsync is already running; calls on one ring must not overlap.");
        }

        var sequence = _sequence++;
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var bytesSent = _transport is null ? 0 : await _transport.SumAsync(segment, sequence, fullPrecision, cancellationToken).ConfigureAwait(false);
            return new AllReduceStats(bytesSent, stopwatch.Elapsed);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Closes this rank's mailbox entries and data-plane registration (late chunks and connections are refused) and its connections.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _mailbox.Close(_group.GroupId, Rank);
        _transport?.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
