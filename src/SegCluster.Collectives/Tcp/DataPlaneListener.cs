using System.Net;
using System.Net.Sockets;

namespace SegCluster.Collectives.Tcp;

/// <summary>
/// One rank's listening socket for its predecessor's data connection. Accepts in the background for the
/// ring's lifetime (so a peer can connect before this rank's first call) and hands out the first
/// connection that passes <see cref="DataPlaneHandshake"/>; every other connection is refused with a
/// reason and closed, and changes nothing.
/// </summary>
internal sealed class DataPlaneListener : IDisposable
{
    private readonly Socket _socket;
    private readonly DataPlaneHello _expected;
    private readonly string? _token;
    private readonly TimeSpan _timeout;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Func<Socket, CancellationToken, ValueTask<Socket>> _accept;
    private readonly TaskCompletionSource<Socket> _predecessor = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly LinkedList<Handshake> _handshakes = []; // oldest first; guarded by itself
    private volatile string? _lastRefusal;
    private int _claimed; // 1 once a dialer passed the handshake checks: later ones are refused before the proof

    /// <param name="accept">Accepts the next connection (tests inject failures); default <see cref="Socket.AcceptAsync(CancellationToken)"/>.</param>
    public DataPlaneListener(IPAddress address, DataPlaneHello expected, CollectiveOptions options, Func<Socket, CancellationToken, ValueTask<Socket>>? accept = null)
    {
        _accept = accept ?? ((socket, cancellationToken) => socket.AcceptAsync(cancellationToken));
        _expected = expected;
        _token = options.Token;
        _timeout = options.Timeout;
        _socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (address.Equals(IPAddress.IPv6Any))
        {
            _socket.DualMode = true;
        }

        Bind(_socket, address, options.DataPlanePorts);
        _socket.Listen(8);
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        _ = AcceptLoopAsync();
    }

    public int Port { get; }

    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>Connections in their handshake at once. Unauthenticated dialers each held a socket for the whole handshake
    /// deadline without limit, and enough of them used up the descriptors the node's other listeners (Kestrel, Orleans)
    /// share. One predecessor is expected: 16 leaves room for its retries. At the cap a newcomer takes the place of the
    /// oldest connection that has sent nothing yet (closed, unheard): with the newcomer refused instead, 16 silent
    /// dialers kept the real predecessor out for the whole deadline, and the ring failed (a rank dials once). A real
    /// dialer sends its whole message as soon as the greeting arrives, so only a flood faster than that round trip could
    /// push it out. Only when every connection has been heard (its proof being checked) is the newcomer closed.</summary>
    internal const int MaxPendingHandshakes = 16;

    /// <summary>A connection in its handshake; <see cref="Heard"/> once the dialer's message is in.</summary>
    private sealed class Handshake(Socket connection)
    {
        public Socket Connection { get; } = connection;
        public volatile bool Heard;
        public volatile bool Evicted;
    }

    /// <summary>The longest a handshake may take: a peer that dials sends its hello at once.</summary>
    internal static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Any free port, or the first free one of the configured range (a full range is named in the error).
    /// An advertised address this machine does not hold (a NAT or load-balancer address in Node:AdvertiseHost) is
    /// listened for on every address instead: peers dial the advertised one, which forwards here.</summary>
    private static void Bind(Socket socket, IPAddress address, string? ports)
    {
        var any = address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
        var ranged = DataPlanePortRange.TryParse(ports, out var range);
        for (int port = ranged ? range.First : 0; port <= (ranged ? range.Last : 0); port++)
        {
            try
            {
                socket.Bind(new IPEndPoint(address, port));
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable && !address.Equals(any))
            {
                address = any;
                port--;  // this port again, on every address
            }
            catch (SocketException e) when (ranged && e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
            {
            }
        }

        socket.Dispose();
        throw new CollectiveException(
            $"no free data-plane port in {CollectiveOptions.SectionName}:DataPlanePorts = {range} on {address}: every port is in use " +
            "(one per ring rank in this process). Widen the range.");
    }

    /// <summary>Why the latest refused connection was refused, or the latest accept error (for the timeout message), or null.</summary>
    public string? LastRefusal => _lastRefusal;

    /// <summary>The authenticated predecessor connection, once it has arrived.</summary>
    public Task<Socket> Predecessor => _predecessor.Task;

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _accept(_socket, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || _stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // Transient (a dialer reset before accept, out of descriptors): the predecessor may still come, so keep accepting.
                _lastRefusal = $"accepting a connection failed: {e.Message}";
                if (e.SocketErrorCode is not (SocketError.ConnectionAborted or SocketError.ConnectionReset))
                {
                    await Task.Delay(AcceptRetryDelay).ConfigureAwait(false); // no busy loop while descriptors run out
                }

                continue;
            }

            var handshake = new Handshake(connection);
            if (!Admit(handshake))
            {
                _lastRefusal = $"a connection from {connection.RemoteEndPoint} was closed: {MaxPendingHandshakes} others are in their handshake";
                connection.Dispose();
                continue;
            }
            _ = HandshakeAsync(handshake);
        }
    }

    /// <summary>Makes room for <paramref name="handshake"/>, closing the oldest unheard one at the cap; false when every
    /// handshake in progress has been heard.</summary>
    private bool Admit(Handshake handshake)
    {
        Handshake? evicted = null;
        lock (_handshakes)
        {
            if (_handshakes.Count >= MaxPendingHandshakes)
            {
                var oldest = _handshakes.First;
                while (oldest is not null && oldest.Value.Heard) oldest = oldest.Next;
                if (oldest is null) return false;
                evicted = oldest.Value;
                _handshakes.Remove(oldest);
            }
            _handshakes.AddLast(handshake);
        }
        if (evicted is not null)
        {
            evicted.Evicted = true;
            // A plain close with its read pending would reset the connection; shut down first, so the dialer reads the end.
            // Its handshake then ends with an error, which it records.
            try { evicted.Connection.Shutdown(SocketShutdown.Both); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            evicted.Connection.Dispose();
        }
        return true;
    }

    private async Task HandshakeAsync(Handshake handshake)
    {
        var connection = handshake.Connection;
        var accepted = false;
        var remote = "an unknown address";
        try
        {
            remote = connection.RemoteEndPoint?.ToString() ?? remote;  // inside: a throw here must still give back the slot
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            deadline.CancelAfter(_timeout < HandshakeTimeout ? _timeout : HandshakeTimeout);
            using var stream = new NetworkStream(connection, ownsSocket: false);
            var reason = await DataPlaneHandshake.AcceptAsync(stream, _expected, _token, Claim, () => handshake.Heard = true, deadline.Token).ConfigureAwait(false);
            if (reason is not null)
            {
                _lastRefusal = $"a connection from {remote} was refused: {reason}";
                return;
            }

            SocketTuning.Apply(connection);
            accepted = _predecessor.TrySetResult(connection);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
        {
            _lastRefusal = handshake.Evicted
                ? $"a connection from {remote} was closed: it had sent nothing, and a newer one needed its place ({MaxPendingHandshakes} in their handshake)"
                : $"a connection from {remote} broke off during the handshake: {e.Message}";
        }
        finally
        {
            if (!accepted)
            {
                connection.Dispose();
            }
            lock (_handshakes) _handshakes.Remove(handshake);
        }
    }

    // Only the first dialer that passes the checks gets the proof; a second would otherwise believe it was connected.
    private string? Claim() =>
        Interlocked.Exchange(ref _claimed, 1) == 0 ? null : $"rank {_expected.SourceRank} is already connected";

    /// <summary>Stops accepting and closes the predecessor connection if one was accepted.</summary>
    public void Dispose()
    {
        // _stopping is left to the GC: handshakes still running may read its token.
        _stopping.Cancel();
        _socket.Dispose();
        _predecessor.TrySetCanceled();
        if (_predecessor.Task.IsCompletedSuccessfully)
        {
            _predecessor.Task.Result.Dispose();
        }
    }
}
