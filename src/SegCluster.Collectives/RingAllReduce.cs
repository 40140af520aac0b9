using System.Diagnostics;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace SegCluster.Collectives;

/// <summary>
/// One rank's endpoint of a bandwidth-optimal ring all-reduce (reduce-scatter, then all-gather) over
/// gRPC. Rank r sends to (r+1) mod W and receives from (r−1) mod W; each rank sends 2·(W−1)/W of the
/// buffer per call regardless of W.
/// </summary>
/// <remarks>
/// Protocol of call n (sequence n) with the buffer cut into W segments (see <see cref="RingSegments"/>):
/// reduce-scatter step s = 0..W−2 sends segment (r−s) and adds the received segment (r−s−1), after
/// which rank r owns the full sum of segment (r+1); all-gather step s sends segment (r+1−s) and
/// overwrites segment (r−s) with the received one. Segments travel as chunks of at most ChunkBytes,
/// addressed (group, destination rank, sequence, step, chunk) so out-of-order arrival is harmless.
/// Every element is summed exactly once along the ring and then copied, so all ranks end bit-identical.
/// </remarks>
public sealed class RingAllReduce : IAsyncDisposable, IDisposable
{
    // Unary sends kept in flight at once: hides one round trip per chunk without unbounded buffering.
    private const int SendWindow = 4;

    private readonly RingGroup _group;
    private readonly CollectiveMailbox _mailbox;
    private readonly CollectiveOptions _options;
    private readonly int _next;
    private readonly int _previous;
    private readonly GrpcChannel? _channel;
    private readonly Collective.CollectiveClient? _client;
    private readonly Metadata _headers = new();
    private long _sequence;
    private int _busy;
    private bool _disposed;

    /// <summary>Creates rank <paramref name="rank"/>'s end of the ring; opens one channel to its successor.</summary>
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
        _options = options.Clone();
        Rank = rank;
        WorldSize = group.WorldSize;
        _next = (rank + 1) % WorldSize;
        _previous = (rank - 1 + WorldSize) % WorldSize;
        _mailbox.Open(group.GroupId, rank);
        if (_options.Token is not null)
        {
            _headers.Add(CollectiveService.AuthorizationHeader, CollectiveService.BearerPrefix + _options.Token);
        }

        if (WorldSize > 1)
        {
            _channel = GrpcChannel.ForAddress(group.Endpoints[_next], new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler
                {
                    // Fail fast on an unreachable peer instead of the OS connect timeout.
                    ConnectTimeout = _options.Timeout,
                    EnableMultipleHttp2Connections = true,
                    PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                    KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                    KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
                },
                MaxSendMessageSize = null,
                DisposeHttpClient = true,
            });
            _client = new Collective.CollectiveClient(_channel);
        }
    }

    public int Rank { get; }

    public int WorldSize { get; }

    public RingGroup Group => _group;

    /// <summary>
    /// Sums <paramref name="buffer"/> element-wise across all ranks, in place. Every rank must call it
    /// the same number of times, in the same order, with the same length; calls on one instance must
    /// not overlap. W = 1 and an empty buffer complete without network traffic (an empty buffer's
    /// segments have zero chunks on every rank).
    /// </summary>
    /// <exception cref="CollectiveException">A peer is unreachable or rejected a chunk, a chunk did not
    /// arrive within Timeout, or the ranks' buffer lengths differ. The buffer is then unspecified.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<AllReduceStats> SumAsync(float[] buffer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(buffer);
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
            long bytesSent = 0;
            var segments = new RingSegments(buffer.Length, WorldSize);
            for (var step = 0; step < 2 * (WorldSize - 1); step++)
            {
                bytesSent += await RunStepAsync(buffer, segments, sequence, step, cancellationToken).ConfigureAwait(false);
            }

            return new AllReduceStats(bytesSent, stopwatch.Elapsed);
        }
        catch
        {
            // Chunks of this failed operation that already arrived would otherwise stay parked.
            _mailbox.Purge(_group.GroupId, Rank, sequence);
            throw;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private async Task<long> RunStepAsync(float[] buffer, RingSegments segments, long sequence, int step, CancellationToken cancellationToken)
    {
        var gather = step >= WorldSize - 1;
        var s = gather ? step - (WorldSize - 1) : step;
        var sendSegment = segments.Wrap(gather ? Rank + 1 - s : Rank - s);
        var receiveSegment = segments.Wrap(gather ? Rank - s : Rank - s - 1);

        // Send and receive overlap; whichever fails first cancels the other so an unreachable
        // successor is reported at once rather than after the receive timeout.
        using var stepCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var send = SendSegmentAsync(buffer, segments, sendSegment, sequence, step, stepCancellation.Token);
        var receive = ReceiveSegmentAsync(buffer, segments, receiveSegment, accumulate: !gather, sequence, step, stepCancellation.Token);

        var first = await Task.WhenAny(send, receive).ConfigureAwait(false);
        if (!first.IsCompletedSuccessfully)
        {
            await stepCancellation.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(send, receive).ConfigureAwait(false);
            }
            catch
            {
                // The other task's cancellation is a consequence; the first failure is the cause.
            }

            await first.ConfigureAwait(false); // rethrows the original exception
        }

        await Task.WhenAll(send, receive).ConfigureAwait(false);
        return await send.ConfigureAwait(false);
    }

    private async Task<long> SendSegmentAsync(
        float[] buffer, RingSegments segments, int segment, long sequence, int step, CancellationToken cancellationToken)
    {
        var start = segments.Start(segment);
        var count = segments.Count(segment);
        var chunkFloats = _options.ChunkBytes / sizeof(float);
        var inFlight = new Queue<Task>(SendWindow);
        long bytes = 0;
        try
        {
            for (int offset = 0, chunk = 0; offset < count; offset += chunkFloats, chunk++)
            {
                if (inFlight.Count == SendWindow)
                {
                    await inFlight.Dequeue().ConfigureAwait(false);
                }

                var length = Math.Min(chunkFloats, count - offset);
                var message = new ChunkMessage
                {
                    GroupId = _group.GroupId,
                    SourceRank = Rank,
                    DestinationRank = _next,
                    Sequence = sequence,
                    Step = step,
                    Chunk = chunk,
                    TotalLength = buffer.Length,
                    Payload = UnsafeByteOperations.UnsafeWrap(new FloatBytesMemoryManager(buffer, start + offset, length).Memory),
                };
                inFlight.Enqueue(SendChunkAsync(message, step, cancellationToken));
                bytes += length * sizeof(float);
            }

            while (inFlight.Count > 0)
            {
                await inFlight.Dequeue().ConfigureAwait(false);
            }
        }
        catch
        {
            // Do not return (and let the caller reuse the buffer) while calls still read from it.
            await Task.WhenAll(inFlight.Select(t => t.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default))).ConfigureAwait(false);
            throw;
        }

        return bytes;
    }

    private async Task SendChunkAsync(ChunkMessage message, int step, CancellationToken cancellationToken)
    {
        try
        {
            var options = new CallOptions(_headers, DateTime.UtcNow + _options.Timeout, cancellationToken);
            await _client!.DepositAsync(message, options).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException ex)
        {
            var what = ex.StatusCode switch
            {
                StatusCode.Unavailable => "is unreachable",
                StatusCode.DeadlineExceeded => $"did not accept it within Timeout {_options.Timeout}",
                StatusCode.Unauthenticated or StatusCode.PermissionDenied => "rejected the cluster token (check Collectives:Token on both sides)",
                _ => "rejected it",
            };
            throw Failure(
                $"sending chunk {message.Chunk} of sequence {message.Sequence} to rank {_next} at {_group.Endpoints[_next]} failed: " +
                $"the peer {what} ({ex.StatusCode}: {ex.Status.Detail})",
                _next, step, ex);
        }
    }

    private async Task ReceiveSegmentAsync(
        float[] buffer, RingSegments segments, int segment, bool accumulate, long sequence, int step, CancellationToken cancellationToken)
    {
        var start = segments.Start(segment);
        var count = segments.Count(segment);
        var chunkFloats = _options.ChunkBytes / sizeof(float);
        for (int offset = 0, chunk = 0; offset < count; offset += chunkFloats, chunk++)
        {
            var key = new ChunkKey(_group.GroupId, Rank, sequence, step, chunk);
            ChunkMessage message;
            try
            {
                message = await _mailbox.ReceiveAsync(key, _options.Timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                throw Failure(
                    $"chunk {chunk} of sequence {sequence} from rank {_previous} at {_group.Endpoints[_previous]} did not arrive " +
                    $"within Timeout {_options.Timeout} (is that rank running and calling SumAsync the same number of times?)",
                    _previous, step, ex);
            }
            catch (ObjectDisposedException ex)
            {
                throw Failure("the ring was disposed while waiting for a chunk", _previous, step, ex);
            }

            var length = Math.Min(chunkFloats, count - offset);
            if (message.TotalLength != buffer.Length || message.Payload.Length != length * sizeof(float))
            {
                throw Failure(
                    $"rank {_previous} called SumAsync with a buffer of {message.TotalLength} floats but this rank has " +
                    $"{buffer.Length} (or sent a chunk of {message.Payload.Length} bytes where {length * sizeof(float)} were expected); " +
                    "every rank must pass the same length",
                    _previous, step, null);
            }

            var destination = buffer.AsSpan(start + offset, length);
            if (accumulate)
            {
                FloatMath.AddInPlace(destination, message.Payload.Span);
            }
            else
            {
                MemoryMarshal.Cast<byte, float>(message.Payload.Span).CopyTo(destination);
            }
        }
    }

    private CollectiveException Failure(string what, int peer, int step, Exception? inner)
    {
        var phase = step < WorldSize - 1
            ? $"reduce-scatter step {step + 1}/{WorldSize - 1}"
            : $"all-gather step {step - WorldSize + 2}/{WorldSize - 1}";
        return new CollectiveException(
            $"All-reduce of group '{_group.GroupId}' failed on rank {Rank} of {WorldSize} during {phase} " +
            $"(peer rank {peer} at {_group.Endpoints[peer]}): {what}.",
            _group.GroupId, Rank, peer, _group.Endpoints[peer], step, inner);
    }

    /// <summary>Closes this rank's mailbox entries (late chunks are refused) and the channel.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _mailbox.Close(_group.GroupId, Rank);
        _channel?.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
