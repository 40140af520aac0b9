using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace SegCluster.Collectives;

/// <summary>
/// <see cref="RingTransport.Grpc"/>: every chunk is a unary gRPC call to the process hosting the
/// successor, which parks it in its <see cref="CollectiveMailbox"/> until that rank takes it. Chunks
/// are addressed (group, destination rank, sequence, step, chunk), so out-of-order arrival is harmless.
/// </summary>
internal sealed class GrpcRingTransport : IRingTransport
{
    // Unary sends kept in flight at once: hides one round trip per chunk without unbounded buffering.
    private const int SendWindow = 4;

    // Bound on the best-effort abort sent to the successor when a call fails (see AbortSuccessorAsync).
    private static readonly TimeSpan AbortDeadline = TimeSpan.FromSeconds(2);

    private readonly RingGroup _group;
    private readonly CollectiveMailbox _mailbox;
    private readonly CollectiveOptions _options;
    private readonly RingSchedule _schedule;
    private readonly RingFailures _failures;
    private readonly int _next;
    private readonly int _previous;
    private readonly GrpcChannel _channel;
    private readonly Collective.CollectiveClient _client;
    private readonly Metadata _headers;
    private bool _formed;  // a call has completed: every rank has joined

    public GrpcRingTransport(RingGroup group, int rank, CollectiveMailbox mailbox, CollectiveOptions options, RingFailures failures)
    {
        _group = group;
        _mailbox = mailbox;
        _options = options;
        _failures = failures;
        _schedule = new RingSchedule(rank, group.WorldSize);
        (_next, _previous) = (_schedule.Next, _schedule.Previous);
        _headers = CollectiveChannels.AuthorizationHeaders(options);
        _channel = CollectiveChannels.Open(group.Endpoints[_next], options);
        _client = new Collective.CollectiveClient(_channel);
    }

    private int Rank => _schedule.Rank;

    public async Task<long> SumAsync(ArraySegment<float> buffer, long sequence, bool fullPrecision, CancellationToken cancellationToken)  // fp32 only
    {
        try
        {
            long bytesSent = 0;
            var segments = new RingSegments(buffer.Count, _schedule.WorldSize);
            for (var step = 0; step < _schedule.Steps; step++)
            {
                bytesSent += await RunStepAsync(buffer, segments, sequence, step, cancellationToken).ConfigureAwait(false);
            }

            _formed = true;
            return bytesSent;
        }
        catch (Exception failure)
        {
            // Chunks of this failed operation that already arrived would otherwise stay parked.
            _mailbox.Purge(_group.GroupId, Rank, sequence);
            await AbortSuccessorAsync(sequence, failure).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Tells the successor, which waits for chunks this rank will no longer send, that this operation is given up, so it
    /// fails now (and tells its own successor) instead of at its Timeout. An abort received is forwarded with its origin,
    /// so every rank names the first failure. Best effort: a successor that cannot be told is failing on its own.
    /// </summary>
    private async Task AbortSuccessorAsync(long sequence, Exception failure)
    {
        var (origin, reason) = failure switch
        {
            CollectiveException { InnerException: RingAbortedException aborted } => (aborted.OriginRank, aborted.Reason),
            OperationCanceledException => (Rank, $"rank {Rank}'s SumAsync call was cancelled"),
            _ => (Rank, failure.Message),
        };
        var abort = new AbortMessage
        {
            GroupId = _group.GroupId,
            SourceRank = Rank,
            DestinationRank = _next,
            Sequence = sequence,
            OriginRank = origin,
            Reason = reason,
        };
        var deadline = AbortDeadline < _options.Timeout ? AbortDeadline : _options.Timeout;
        try
        {
            await _client.AbortAsync(abort, new CallOptions(_headers, DateTime.UtcNow + deadline)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or ObjectDisposedException or OperationCanceledException)
        {
            // Unreachable, rejecting the token, or this ring disposed meanwhile: the successor fails by its own errors or
            // Timeout, and the caller must see this rank's failure, not the abort's.
        }
    }

    private async Task<long> RunStepAsync(ArraySegment<float> buffer, RingSegments segments, long sequence, int step, CancellationToken cancellationToken)
    {
        var sendSegment = _schedule.SendSegment(step, segments);
        var receiveSegment = _schedule.ReceiveSegment(step, segments);

        // Send and receive overlap; whichever fails first cancels the other.
        using var stepCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var send = SendSegmentAsync(buffer, segments, sendSegment, sequence, step, stepCancellation.Token);
        var receive = ReceiveSegmentAsync(buffer, segments, receiveSegment, accumulate: !_schedule.IsGather(step), sequence, step, stepCancellation.Token);
        await FirstFailure.WhenBothAsync(send, receive, stepCancellation).ConfigureAwait(false);
        return await send.ConfigureAwait(false);
    }

    private async Task<long> SendSegmentAsync(
        ArraySegment<float> buffer, RingSegments segments, int segment, long sequence, int step, CancellationToken cancellationToken)
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
                    TotalLength = buffer.Count,
                    Payload = UnsafeByteOperations.UnsafeWrap(FloatBytesMemoryManager.Bytes(buffer, start + offset, length)),
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
            await _client.DepositAsync(message, options).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException ex)
        {
            throw _failures.FromRpc(ex, $"sending chunk {message.Chunk} of sequence {message.Sequence}", _next, step);
        }
    }

    private async Task ReceiveSegmentAsync(
        ArraySegment<float> buffer, RingSegments segments, int segment, bool accumulate, long sequence, int step, CancellationToken cancellationToken)
    {
        var start = segments.Start(segment);
        var count = segments.Count(segment);
        var chunkFloats = _options.ChunkBytes / sizeof(float);
        // Until a call has gone round, a rank further round the ring may still be starting: the first call is the
        // rendezvous, bounded by ConnectTimeout.
        var limit = _options.WaitLimit(_formed);
        for (int offset = 0, chunk = 0; offset < count; offset += chunkFloats, chunk++)
        {
            var key = new ChunkKey(_group.GroupId, Rank, sequence, step, chunk);
            ChunkMessage message;
            try
            {
                message = await _mailbox.ReceiveAsync(key, limit.Value, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                throw _failures.Create(
                    $"chunk {chunk} of sequence {sequence} from rank {_previous} at {_group.Endpoints[_previous]} did not arrive " +
                    $"within {limit.Setting} {limit.Value} (is that rank running and calling SumAsync the same number of times?)",
                    _previous, step, ex);
            }
            catch (ObjectDisposedException ex)
            {
                throw _failures.Create("the ring was disposed while waiting for a chunk", _previous, step, ex);
            }
            catch (RingAbortedException ex)
            {
                throw _failures.Create(ex.Message, _previous, step, ex);
            }

            var length = Math.Min(chunkFloats, count - offset);
            if (message.TotalLength != buffer.Count || message.Payload.Length != length * sizeof(float))
            {
                throw _failures.LengthMismatch(_previous, step, message.TotalLength, buffer.Count, message.Payload.Length, length * sizeof(float));
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

    public void Dispose() => _channel.Dispose();
}
