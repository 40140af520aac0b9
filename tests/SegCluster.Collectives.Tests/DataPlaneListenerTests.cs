using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SegCluster.Collectives.Tcp;

namespace SegCluster.Collectives.Tests;

/// <summary>One rank's data-plane listener on its own: who is accepted, and that accepting survives a failed accept.</summary>
public sealed class DataPlaneListenerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly RingGroup Group = new("listener-test", ["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    private static readonly CollectiveOptions Options = new() { Token = "t0ken", ChunkBytes = 256, Transport = RingTransport.Tcp };
    private static readonly DataPlaneHello Hello = DataPlaneHello.For(Group, source: 0, destination: 1, Options);

    [Fact]
    public async Task A_second_valid_dialer_is_refused_before_it_receives_the_proof()
    {
        using var listener = new DataPlaneListener(IPAddress.Loopback, Hello, Options);
        using var first = new TcpClient();
        Assert.Null(await DialAsync(first, listener.Port));
        await listener.Predecessor.WaitAsync(Bound);

        using var second = new TcpClient();
        var refusal = await DialAsync(second, listener.Port);

        // Before: the proof went out first, so the second dialer believed it was connected and read the refusal as data.
        Assert.Equal("it refused the connection: rank 0 is already connected", refusal);
    }

    /// <summary>A node behind NAT advertises an address it does not hold: binding that literal failed with a bare
    /// "Cannot assign requested address" that named no setting, and the TCP ring failed on every retry. It listens on
    /// every address instead, so a dialer reaches it.</summary>
    [Fact]
    public async Task An_advertised_address_this_machine_does_not_hold_is_listened_for_on_every_address()
    {
        using var listener = new DataPlaneListener(IPAddress.Parse("203.0.113.5"), Hello, Options);  // TEST-NET-3: never local
        using var dialer = new TcpClient();
        Assert.Null(await DialAsync(dialer, listener.Port));
        await listener.Predecessor.WaitAsync(Bound);
    }

    /// <summary>Dialers that connect and say nothing held a socket each for the whole handshake deadline, without limit:
    /// enough of them used up the descriptors Kestrel and Orleans share. Past the cap one silent connection is closed for
    /// each newcomer, and when the silent ones are gone the predecessor still connects.</summary>
    [Fact]
    public async Task Silent_dialers_beyond_the_handshake_cap_are_closed_at_once()
    {
        using var listener = new DataPlaneListener(IPAddress.Loopback, Hello, Options);
        var silent = new List<TcpClient>();
        var sinceFirst = Stopwatch.StartNew();  // no handshake began before this, so none can reach its deadline sooner
        for (int i = 0; i < DataPlaneListener.MaxPendingHandshakes + 8; i++)
        {
            var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, listener.Port);
            silent.Add(client);
        }

        // All at once, until 1 s before the first handshake's deadline could end any of them (~8 s; 3 s was short for the
        // evictions on 2 loaded cores): a connection in its handshake gets the listener's greeting and then waits; a closed
        // one reads the end.
        var waitFor = DataPlaneListener.HandshakeTimeout - TimeSpan.FromSeconds(1) - sinceFirst.Elapsed;
        Assert.True(waitFor > TimeSpan.Zero, $"connecting the dialers took {sinceFirst.Elapsed}: no time left before the handshake deadline");
        using var wait = new CancellationTokenSource(waitFor);
        var ended = await Task.WhenAll(silent.Select(async client =>
        {
            var buffer = new byte[64];
            try
            {
                while (await client.GetStream().ReadAsync(buffer, wait.Token) > 0) { }
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }));
        Assert.Equal(8, ended.Count(e => e));

        silent.ForEach(c => c.Dispose());
        await Task.Delay(200);  // their handshakes end with their connections
        using var predecessor = new TcpClient();
        Assert.Null(await DialAsync(predecessor, listener.Port));
        await listener.Predecessor.WaitAsync(Bound);
    }

    /// <summary>With the cap full of silent connections the real predecessor was closed at accept, and the ring failed (a
    /// rank dials once): anyone who could reach the port could stop training with 16 idle sockets. It takes the place of
    /// the oldest silent one instead, while they are all still held open.</summary>
    [Fact]
    public async Task The_predecessor_connects_while_silent_dialers_hold_every_handshake_slot()
    {
        using var listener = new DataPlaneListener(IPAddress.Loopback, Hello, Options);
        using var bound = new CancellationTokenSource(Bound);
        var silent = new List<TcpClient>();
        try
        {
            for (int i = 0; i < DataPlaneListener.MaxPendingHandshakes; i++)
            {
                var client = new TcpClient();
                silent.Add(client);
                await client.ConnectAsync(IPAddress.Loopback, listener.Port);
                // The greeting says this one's handshake has begun: every slot is taken before the predecessor dials.
                await client.GetStream().ReadExactlyAsync(new byte[36], bound.Token);
            }

            using var predecessor = new TcpClient();
            Assert.Null(await DialAsync(predecessor, listener.Port));
            await listener.Predecessor.WaitAsync(Bound);
            // The oldest silent one made room: it reads the end of its connection.
            Assert.Equal(0, await silent[0].GetStream().ReadAsync(new byte[1], bound.Token));
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_failed_accept_is_recorded_and_accepting_goes_on()
    {
        var failures = 1;
        using var listener = new DataPlaneListener(IPAddress.Loopback, Hello, Options, (socket, cancellationToken) =>
            Interlocked.Decrement(ref failures) >= 0
                ? ValueTask.FromException<Socket>(new SocketException((int)SocketError.ConnectionAborted))
                : socket.AcceptAsync(cancellationToken));

        using var dialer = new TcpClient();
        Assert.Null(await DialAsync(dialer, listener.Port));
        using var predecessor = await listener.Predecessor.WaitAsync(Bound);

        Assert.StartsWith("accepting a connection failed:", listener.LastRefusal, StringComparison.Ordinal);
    }

    private static async Task<string?> DialAsync(TcpClient client, int port)
    {
        await client.ConnectAsync(IPAddress.Loopback, port);
        using var timeout = new CancellationTokenSource(Bound);
        return await DataPlaneHandshake.DialAsync(client.GetStream(), Hello, Options.Token, timeout.Token);
    }
}
