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
    private readonly TaskCompletionSource<Socket> _predecessor = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _lastRefusal;

    public DataPlaneListener(IPAddress address, DataPlaneHello expected, CollectiveOptions options)
    {
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

    /// <summary>Any free port, or the first free one of the configured range (a full range is named in the error).</summary>
    private static void Bind(Socket socket, IPAddress address, string? ports)
    {
        if (!DataPlanePortRange.TryParse(ports, out var range))
        {
            socket.Bind(new IPEndPoint(address, 0));
            return;
        }

        for (int port = range.First; port <= range.Last; port++)
        {
            try
            {
                socket.Bind(new IPEndPoint(address, port));
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
            {
            }
        }

        socket.Dispose();
        throw new CollectiveException(
            $"no free data-plane port in {CollectiveOptions.SectionName}:DataPlanePorts = {range} on {address}: every port is in use " +
            "(one per ring rank in this process). Widen the range.");
    }

    /// <summary>Why the latest refused connection was refused (for the timeout message), or null.</summary>
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
                connection = await _socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = HandshakeAsync(connection);
        }
    }

    private async Task HandshakeAsync(Socket connection)
    {
        var accepted = false;
        var remote = connection.RemoteEndPoint?.ToString() ?? "an unknown address";
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            deadline.CancelAfter(_timeout);
            using var stream = new NetworkStream(connection, ownsSocket: false);
            var reason = await DataPlaneHandshake.AcceptAsync(stream, _expected, _token, deadline.Token).ConfigureAwait(false);
            if (reason is null && _predecessor.Task.IsCompleted)
            {
                reason = $"rank {_expected.SourceRank} is already connected";
                await DataPlaneHandshake.RefuseAsync(stream, reason, deadline.Token).ConfigureAwait(false);
            }

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
            _lastRefusal = $"a connection from {remote} broke off during the handshake: {e.Message}";
        }
        finally
        {
            if (!accepted)
            {
                connection.Dispose();
            }
        }
    }

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
