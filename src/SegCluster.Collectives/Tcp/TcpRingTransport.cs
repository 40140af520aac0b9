using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Grpc.Core;

namespace SegCluster.Collectives.Tcp;

/// <summary>
/// <see cref="RingTransport.Tcp"/>: one plain TCP connection per ring edge, as gloo and NCCL's socket
/// transport do, because HTTP/2 request bodies cap the gRPC ring far below loopback TCP. gRPC stays the
/// control plane: the rendezvous (<c>LocateDataPlane</c>, token-checked) tells the dialer its successor's
/// port, and <see cref="DataPlaneHandshake"/> proves the cluster token on the connection itself.
/// </summary>
/// <remarks>
/// Pipelined: sending and receiving run concurrently for the whole call, chunk by chunk, across steps. The
/// chunk c that step s+1 forwards is sent as soon as chunk c of step s has been received (and added), so a
/// segment never waits for the whole previous segment. Payloads go straight from and (all-gather) into the
/// caller's buffer, through a byte view per chunk (buffers may exceed 2 GiB); the reduce-scatter reads into one pinned chunk-sized scratch buffer allocated once.
/// With <see cref="WireFormat.Fp16"/> each chunk is converted to half precision into a send scratch buffer and back to
/// fp32 on receipt (sums accumulate in fp32); the owner of a reduced segment rounds its own copy the same way before
/// the all-gather, so every rank ends with the same bits.
/// A failure or cancellation leaves the byte streams mid-frame, so it breaks the ring: the connections are
/// closed at once (the neighbours fail fast instead of waiting for Timeout) and the ring must be re-formed.
/// </remarks>
internal sealed class TcpRingTransport : IRingTransport
{
    private readonly RingGroup _group;
    private readonly CollectiveOptions _options;
    private readonly RingSchedule _schedule;
    private readonly RingFailures _failures;
    private readonly int _next;
    private readonly int _previous;
    private readonly int _chunkFloats;
    private readonly DataPlaneListener _listener;
    private readonly byte[] _sendHeader = new byte[ChunkFrame.Size];
    private readonly byte[] _receiveHeader = new byte[ChunkFrame.Size];
    private readonly byte[] _scratch;
    private readonly byte[] _halfSendScratch;
    private readonly float[] _halfReceiveScratch;

    // Released once per received chunk that a later step forwards; the sender waits once per forwarded chunk.
    private readonly SemaphoreSlim _forwardable = new(0);
    private NetworkStream? _successor;
    private NetworkStream? _predecessor;
    private Exception? _broken;
    private bool _formed;  // a call has completed: every rank has joined

    public TcpRingTransport(RingGroup group, int rank, DataPlaneDirectory directory, CollectiveOptions options, RingFailures failures)
    {
        _group = group;
        _options = options;
        _failures = failures;
        _schedule = new RingSchedule(rank, group.WorldSize);
        (_next, _previous) = (_schedule.Next, _schedule.Previous);
        _chunkFloats = options.ChunkBytes / sizeof(float);
        _scratch = GC.AllocateUninitializedArray<byte>(options.ChunkBytes, pinned: true);
        var half = options.Wire == WireFormat.Fp16;
        _halfSendScratch = half ? GC.AllocateUninitializedArray<byte>(_chunkFloats * 2, pinned: true) : [];
        _halfReceiveScratch = half ? new float[_chunkFloats] : [];
        _listener = new DataPlaneListener(ListenAddress(group.Endpoints[rank]), DataPlaneHello.For(group, _previous, rank, options), options);
        directory.Register(group.GroupId, rank, _listener.Port);
    }

    /// <summary>The listening port of this rank's data plane (for tests that play a stranger).</summary>
    internal int Port => _listener.Port;

    private int Rank => _schedule.Rank;

    public async Task<long> SumAsync(ArraySegment<float> buffer, long sequence, bool fullPrecision, CancellationToken cancellationToken)
    {
        if (_broken is not null)
        {
            throw _failures.Create(
                $"an earlier all-reduce on this ring failed, which broke its data connections ({_broken.Message}); re-form the ring",
                _next, 0, _broken);
        }

        try
        {
            _successor ??= await DialSuccessorAsync(cancellationToken).ConfigureAwait(false);
            _predecessor ??= await AwaitPredecessorAsync(cancellationToken).ConfigureAwait(false);
            var segments = new RingSegments(buffer.Count, _schedule.WorldSize);
            using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var elementBytes = !fullPrecision && _options.Wire == WireFormat.Fp16 && buffer.Count >= CollectiveOptions.Fp16MinLength ? 2 : sizeof(float);
            var headroom = elementBytes == 2 ? (float)BitOperations.RoundUpToPowerOf2((uint)_schedule.WorldSize) : 1f;
            if (headroom != 1f) TensorPrimitives.Multiply(buffer.AsSpan(), 1f / headroom, buffer.AsSpan());
            // Until a call has gone round, a rank further round the ring may still be starting (with 3 or more ranks a
            // connected neighbour waits on a later one): the first call is the rendezvous, bounded by ConnectTimeout.
            var limit = _options.WaitLimit(_formed);
            var send = SendAsync(buffer, segments, sequence, elementBytes, limit, abort.Token, cancellationToken);
            var receive = ReceiveAsync(buffer, segments, sequence, elementBytes, limit, abort.Token, cancellationToken);
            await FirstFailure.WhenBothAsync(send, receive, abort).ConfigureAwait(false);
            if (headroom != 1f) TensorPrimitives.Multiply(buffer.AsSpan(), headroom, buffer.AsSpan());  // see WireFormat.Fp16
            _formed = true;
            return await send.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _broken = e;
            CloseConnections();
            throw;
        }
    }

    private async Task<NetworkStream> DialSuccessorAsync(CancellationToken cancellationToken)
    {
        var endpoint = _group.Endpoints[_next];
        var port = await LocateAsync(endpoint, cancellationToken).ConfigureAwait(false);
        var host = new Uri(endpoint).DnsSafeHost;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        NetworkStream? stream = null;
        try
        {
            await socket.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            SocketTuning.Apply(socket);
            stream = new NetworkStream(socket, ownsSocket: true);
            var hello = DataPlaneHello.For(_group, Rank, _next, _options);
            var refusal = await DataPlaneHandshake.DialAsync(stream, hello, _options.Token, deadline.Token).ConfigureAwait(false);
            if (refusal is not null)
            {
                throw _failures.Create($"the data connection to rank {_next} at {host}:{port} failed: {refusal}", _next, 0, null);
            }

            return stream;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Close(socket, stream);
            var what = e is OperationCanceledException ? $"it did not complete within ConnectTimeout {_options.ConnectTimeout}" : e.Message;
            throw _failures.Create($"the data connection to rank {_next} at {host}:{port} failed: {what}", _next, 0, e);
        }
        catch
        {
            Close(socket, stream);
            throw;
        }

        static void Close(Socket socket, NetworkStream? stream)
        {
            stream?.Dispose();
            socket.Dispose();
        }
    }

    // The control plane: the successor's process answers with the port its rank listens on.
    private async Task<int> LocateAsync(string endpoint, CancellationToken cancellationToken)
    {
        using var channel = CollectiveChannels.Open(endpoint, _options);
        var client = new Collective.CollectiveClient(channel);
        var request = new DataPlaneRequest { GroupId = _group.GroupId, Rank = _next, WorldSize = _schedule.WorldSize };
        try
        {
            var options = new CallOptions(CollectiveChannels.AuthorizationHeaders(_options), DateTime.UtcNow + _options.ConnectTimeout, cancellationToken);
            var reply = await client.LocateDataPlaneAsync(request, options).ConfigureAwait(false);
            return reply.Port;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException ex)
        {
            throw _failures.FromRpc(ex, "the data-plane rendezvous", _next, 0, ("ConnectTimeout", _options.ConnectTimeout));
        }
    }

    private async Task<NetworkStream> AwaitPredecessorAsync(CancellationToken cancellationToken)
    {
        try
        {
            var socket = await _listener.Predecessor.WaitAsync(_options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (TimeoutException ex)
        {
            var refusal = _listener.LastRefusal is { } r ? $"; {r}" : string.Empty;
            throw _failures.Create(
                $"the data connection from rank {_previous} at {_group.Endpoints[_previous]} did not arrive within ConnectTimeout " +
                $"{_options.ConnectTimeout} (is that rank running and calling SumAsync?){refusal}",
                _previous, 0, ex);
        }
    }

    private async Task<long> SendAsync(ArraySegment<float> buffer, RingSegments segments, long sequence, int elementBytes, (string Setting, TimeSpan Value) limit,
        CancellationToken abort, CancellationToken caller)
    {
        var stream = _successor!;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(abort);
        long sent = 0;
        var step = 0;
        try
        {
            for (; step < _schedule.Steps; step++)
            {
                var segment = _schedule.SendSegment(step, segments);
                var (start, count) = (segments.Start(segment), segments.Count(segment));
                for (var chunk = 0; chunk < ChunkCount(count); chunk++)
                {
                    if (step > 0)
                    {
                        await _forwardable.WaitAsync(abort).ConfigureAwait(false);
                    }

                    var offset = chunk * _chunkFloats;
                    var length = Math.Min(_chunkFloats, count - offset);
                    var payloadBytes = length * elementBytes;
                    var payload = elementBytes == sizeof(float)
                        ? FloatBytesMemoryManager.Bytes(buffer, start + offset, length)
                        : ToHalf(buffer.AsSpan(start + offset, length), roundOwnCopy: step == _schedule.WorldSize - 1);
                    new ChunkFrame(sequence, step, chunk, buffer.Count, payloadBytes).Write(_sendHeader);
                    deadline.CancelAfter(limit.Value);
                    await stream.WriteAsync(_sendHeader, deadline.Token).ConfigureAwait(false);
                    await stream.WriteAsync(payload, deadline.Token).ConfigureAwait(false);
                    sent += payloadBytes;
                }
            }

            return sent;
        }
        catch (OperationCanceledException ex) when (!abort.IsCancellationRequested)
        {
            throw _failures.Create(
                $"rank {_next} at {_group.Endpoints[_next]} did not take data within {limit.Setting} {limit.Value} " +
                "(is that rank running and calling SumAsync the same number of times?)",
                _next, step, ex);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException && !caller.IsCancellationRequested)
        {
            throw _failures.Create($"sending to rank {_next} at {_group.Endpoints[_next]} failed: the connection broke ({ex.Message})", _next, step, ex);
        }
    }

    private async Task ReceiveAsync(ArraySegment<float> buffer, RingSegments segments, long sequence, int elementBytes, (string Setting, TimeSpan Value) limit,
        CancellationToken abort, CancellationToken caller)
    {
        var stream = _predecessor!;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(abort);
        var (step, chunk) = (0, 0);
        try
        {
            for (; step < _schedule.Steps; step++)
            {
                var segment = _schedule.ReceiveSegment(step, segments);
                var (start, count) = (segments.Start(segment), segments.Count(segment));
                for (chunk = 0; chunk < ChunkCount(count); chunk++)
                {
                    var offset = chunk * _chunkFloats;
                    var length = Math.Min(_chunkFloats, count - offset);
                    var payloadBytes = length * elementBytes;
                    deadline.CancelAfter(limit.Value);
                    await stream.ReadExactlyAsync(_receiveHeader, deadline.Token).ConfigureAwait(false);
                    CheckFrame(ChunkFrame.Read(_receiveHeader), buffer.Count, payloadBytes, sequence, step, chunk);
                    var destination = new Range(start + offset, start + offset + length);
                    if (_schedule.IsGather(step) && elementBytes == sizeof(float))
                    {
                        // Zero-copy: the reduced chunk lands straight in the caller's buffer.
                        await stream.ReadExactlyAsync(FloatBytesMemoryManager.Bytes(buffer, start + offset, length), deadline.Token).ConfigureAwait(false);
                    }
                    else
                    {
                        await stream.ReadExactlyAsync(_scratch.AsMemory(0, payloadBytes), deadline.Token).ConfigureAwait(false);
                        Absorb(buffer.AsSpan(destination), _scratch.AsSpan(0, payloadBytes), accumulate: !_schedule.IsGather(step));
                    }

                    if (step < _schedule.Steps - 1)
                    {
                        _forwardable.Release();
                    }
                }
            }
        }
        catch (OperationCanceledException ex) when (!abort.IsCancellationRequested)
        {
            throw _failures.Create(
                $"chunk {chunk} of call {sequence} from rank {_previous} at {_group.Endpoints[_previous]} did not arrive within {limit.Setting} " +
                $"{limit.Value} (is that rank running and calling SumAsync the same number of times?)",
                _previous, step, ex);
        }
        catch (EndOfStreamException ex)
        {
            throw _failures.Create(
                $"data from rank {_previous} at {_group.Endpoints[_previous]} did not arrive: it closed the connection " +
                "(its process exited, or its all-reduce failed)",
                _previous, step, ex);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException && !caller.IsCancellationRequested)
        {
            throw _failures.Create(
                $"data from rank {_previous} at {_group.Endpoints[_previous]} did not arrive: the connection broke ({ex.Message})",
                _previous, step, ex);
        }
    }

    /// <summary>Converts a chunk to fp16 in the send scratch; at the first all-gather step the owner keeps the rounded values too.</summary>
    private ReadOnlyMemory<byte> ToHalf(Span<float> chunk, bool roundOwnCopy)
    {
        var halves = MemoryMarshal.Cast<byte, Half>(_halfSendScratch.AsSpan(0, chunk.Length * 2));
        TensorPrimitives.ConvertToHalf(chunk, halves);
        if (roundOwnCopy)
        {
            TensorPrimitives.ConvertToSingle(halves, chunk);
        }

        return _halfSendScratch.AsMemory(0, chunk.Length * 2);
    }

    /// <summary>Adds (reduce-scatter) or copies (all-gather) a received payload of the wire format into <paramref name="destination"/>.</summary>
    private void Absorb(Span<float> destination, ReadOnlySpan<byte> payload, bool accumulate)
    {
        if (payload.Length == destination.Length * sizeof(float))
        {
            FloatMath.AddInPlace(destination, payload);
            return;
        }

        var halves = MemoryMarshal.Cast<byte, Half>(payload);
        if (!accumulate)
        {
            TensorPrimitives.ConvertToSingle(halves, destination);
            return;
        }

        var received = _halfReceiveScratch.AsSpan(0, destination.Length);
        TensorPrimitives.ConvertToSingle(halves, received);
        FloatMath.AddInPlace(destination, MemoryMarshal.AsBytes(received));
    }

    private void CheckFrame(ChunkFrame frame, int length, int payloadBytes, long sequence, int step, int chunk)
    {
        if (frame.TotalLength != length || frame.PayloadBytes != payloadBytes)
        {
            throw _failures.LengthMismatch(_previous, step, frame.TotalLength, length, frame.PayloadBytes, payloadBytes);
        }

        if (frame.Sequence != sequence || frame.Step != step || frame.Chunk != chunk)
        {
            throw _failures.Create(
                $"rank {_previous} sent chunk {frame.Chunk} of step {frame.Step} of call {frame.Sequence} where chunk {chunk} " +
                $"of step {step} of call {sequence} was due; the ranks are out of step",
                _previous, step, null);
        }
    }

    // At least one frame per segment, so an empty segment still carries the length check.
    private int ChunkCount(int count) => Math.Max(1, (count + _chunkFloats - 1) / _chunkFloats);

    /// <summary>Listen where this rank's own endpoint points: an IP literal binds that address (loopback stays loopback).</summary>
    private static IPAddress ListenAddress(string endpoint)
    {
        var host = new Uri(endpoint).DnsSafeHost;
        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }

        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : IPAddress.IPv6Any;
    }

    private void CloseConnections()
    {
        _successor?.Dispose();
        _predecessor?.Dispose();
        _listener.Dispose();
    }

    public void Dispose()
    {
        _broken ??= new ObjectDisposedException(nameof(RingAllReduce));
        CloseConnections();
        _forwardable.Dispose();
    }
}
