using System.Net.Sockets;
using SegCluster.Collectives.Tcp;

namespace SegCluster.Collectives.Tests;

/// <summary>
/// The TCP data plane's own guarantees: only a peer that proves the cluster token (and is the expected
/// predecessor of the expected ring) is accepted, a refused stranger changes nothing, and a peer that goes
/// away is reported at once instead of after Timeout.
/// </summary>
public sealed class TcpDataPlaneTests : IAsyncLifetime
{
    private const string Token = "s3cret-cluster-token";

    // Generous bound for a loaded 2-core CI machine: the ConnectTimeout of rings whose ranks start late, and a lookup's wait.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Fails a call that hangs; not a bound on how fast anything must be.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(3);

    private CollectiveServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await CollectiveServer.StartAsync(new Dictionary<string, string?> { ["Collectives:Token"] = Token });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_peer_with_the_wrong_token_is_refused_and_the_ring_still_sums()
    {
        await using var ring = TestRing.Create([_server, _server], Options());
        var hello = DataPlaneHello.For(ring.Group, source: 0, destination: 1, Options());

        var refusal = await DialAsync(ring, rank: 1, hello, token: "wrong-token");

        Assert.NotNull(refusal);
        Assert.Contains("refused", refusal);
        Assert.Contains("token", refusal);
        await AssertSumsAsync(ring);
    }

    [Fact]
    public async Task A_peer_without_any_token_is_refused()
    {
        await using var ring = TestRing.Create([_server, _server], Options());
        var hello = DataPlaneHello.For(ring.Group, source: 0, destination: 1, Options());

        var refusal = await DialAsync(ring, rank: 1, hello, token: null);

        Assert.Contains("token", refusal);
        await AssertSumsAsync(ring);
    }

    [Theory]
    [InlineData("rank")]
    [InlineData("group")]
    [InlineData("generation")]
    public async Task A_peer_with_the_token_but_claiming_another_edge_is_refused_naming_why(string wrong)
    {
        await using var ring = TestRing.Create([_server, _server, _server], Options());
        var right = DataPlaneHello.For(ring.Group, source: 0, destination: 1, Options());
        var (hello, expected) = wrong switch
        {
            "rank" => (right with { SourceRank = 2 }, "rank 2 → rank 1"),
            "group" => (right with { GroupId = "another-ring" }, "another-ring"),
            _ => (right with { Membership = DataPlaneHello.Fingerprint(ring.Group with { Endpoints = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"] }) }, "generation"),
        };

        var refusal = await DialAsync(ring, rank: 1, hello, Token);

        Assert.Contains(expected, refusal);
        await AssertSumsAsync(ring);
    }

    [Fact]
    public async Task A_rank_that_starts_later_than_Timeout_still_joins_within_ConnectTimeout()
    {
        var options = Options();
        options.Timeout = TimeSpan.FromSeconds(1);
        options.ConnectTimeout = Bound;
        await using var ring = TestRing.Create([_server, _server], options);
        var buffers = TestData.IntegerBuffers(2, 1001);
        var expected = TestData.ExpectedSum(buffers);

        var early = Task.Run(() => ring.Ranks[0].SumAsync(buffers[0]));
        await Task.Delay(options.Timeout * 3); // rank 1 starts late (scheduling, model loading); Timeout alone would fail rank 0
        await ring.Ranks[1].SumAsync(buffers[1]);
        await early;

        TestData.AssertExact(expected, buffers);
    }

    /// <summary>With 3 ranks, rank 0 is connected to rank 2 at once, but rank 2's data waits on rank 1, which starts later
    /// than Timeout: the first call must be bounded by ConnectTimeout at every wait, not only at the dial (rank 0 failed
    /// "chunk 0 of call 0 from rank 2 did not arrive within Timeout"). Later calls are bounded by Timeout again.</summary>
    [Theory]
    [InlineData(RingTransport.Tcp)]
    [InlineData(RingTransport.Grpc)]
    public async Task A_rank_further_round_the_ring_that_starts_later_than_Timeout_still_joins(RingTransport transport)
    {
        var options = Options();
        options.Transport = transport;
        options.Timeout = TimeSpan.FromSeconds(1);
        options.ConnectTimeout = Bound;
        await using var ring = TestRing.Create([_server, _server, _server], options);
        var buffers = TestData.IntegerBuffers(3, 1001);
        var expected = TestData.ExpectedSum(buffers);

        var first = new[] { 0, 2 }.Select(r => Task.Run(() => ring.Ranks[r].SumAsync(buffers[r]))).ToList();
        await Task.Delay(options.Timeout * 3);
        await ring.Ranks[1].SumAsync(buffers[1]);
        await Task.WhenAll(first);
        TestData.AssertExact(expected, buffers);

        // Formed: a rank that does not come to the next call fails the others within Timeout (the first to time out
        // closes its connections, so the other may see them close instead).
        var stalled = new[] { 0, 2 }.Select(r => Task.Run(() => ring.Ranks[r].SumAsync(buffers[r]))).ToList();
        await Assert.ThrowsAnyAsync<CollectiveException>(() => Task.WhenAll(stalled));
        Assert.Contains(stalled, t => t.Exception?.InnerException?.Message.Contains("within Timeout 00:00:01") == true);
    }

    [Fact]
    public async Task Ranks_with_different_chunk_sizes_are_refused_at_connect_naming_the_setting()
    {
        var group = new RingGroup($"test-{Guid.NewGuid():N}", [_server.Endpoint, _server.Endpoint]);
        var larger = Options();
        larger.ChunkBytes *= 2;
        await using var rank0 = new RingAllReduce(group, 0, _server.Mailbox, Options());
        await using var rank1 = new RingAllReduce(group, 1, _server.Mailbox, larger);
        var buffers = TestData.IntegerBuffers(2, 1001);

        Task[] calls = [Task.Run(() => rank0.SumAsync(buffers[0])), Task.Run(() => rank1.SumAsync(buffers[1]))];
        await Assert.ThrowsAsync<CollectiveException>(() => Task.WhenAll(calls));

        // Not "a buffer of 1001 floats but this rank has 1001" from the first frame: the hello carries the chunk size.
        Assert.Contains(calls, c => c.Exception?.InnerException?.Message.Contains("set Collectives:ChunkBytes the same on every node") == true);
    }

    [Fact]
    public async Task A_peer_that_goes_away_mid_call_is_reported_at_once_naming_it()
    {
        // A Timeout no test lasts: only the closed connection can end rank 0's wait before the hang guard.
        var options = Options();
        options.Timeout = TimeSpan.FromHours(1);
        var ring = TestRing.Create([_server, _server], options);
        try
        {
            await AssertSumsAsync(ring);

            // Rank 0 calls alone and waits for rank 1's data; rank 1's ring is then disposed (its process gone).
            var call = ring.Ranks[0].SumAsync(new float[1000]);
            ring.Ranks[1].Dispose();
            var error = await Assert.ThrowsAsync<CollectiveException>(() => call).WaitAsync(HangGuard);

            Assert.Matches("it closed the connection|the connection broke", error.Message);
            Assert.DoesNotContain("within", error.Message);
            Assert.Equal(1, error.PeerRank);
            Assert.Contains(ring.Group.GroupId, error.Message);
            Assert.Contains("rank 1", error.Message);

            // The streams stopped mid-frame: the ring stays broken and says so.
            var again = await Assert.ThrowsAsync<CollectiveException>(() => ring.Ranks[0].SumAsync(new float[1000]));
            Assert.Contains("re-form", again.Message);
        }
        finally
        {
            await ring.DisposeAsync();
        }
    }

    [Fact]
    public async Task Ranks_listen_inside_the_configured_port_range_and_a_full_range_is_named()
    {
        var first = LoopbackPorts.NextPair();  // below the ephemeral range: no outgoing connection takes one meanwhile
        var options = Options();
        options.DataPlanePorts = $"{first}-{first + 1}";
        await using var ring = TestRing.Create([_server, _server], options);
        foreach (var rank in new[] { 0, 1 })
            Assert.InRange(await _server.Mailbox.DataPlane.LocateAsync(ring.Group.GroupId, rank, CancellationToken.None), first, first + 1);
        await AssertSumsAsync(ring);

        var error = Assert.Throws<CollectiveException>(() => TestRing.Create([_server, _server], options));
        Assert.Contains($"Collectives:DataPlanePorts = {first}-{first + 1}", error.Message);
        Assert.Contains("Widen", error.Message);
    }

    [Fact]
    public async Task A_rank_whose_transport_cannot_start_is_closed_so_a_peer_looking_for_it_fails_at_once()
    {
        using var occupied = new TcpListener(System.Net.IPAddress.Loopback, 0);
        occupied.Start();
        var port = ((System.Net.IPEndPoint)occupied.LocalEndpoint).Port;
        var options = Options();
        options.DataPlanePorts = $"{port}-{port}";
        var group = new RingGroup($"test-{Guid.NewGuid():N}", [_server.Endpoint, _server.Endpoint]);

        var refused = Assert.Throws<CollectiveException>(() => new RingAllReduce(group, 0, _server.Mailbox, options));
        Assert.Contains($"Collectives:DataPlanePorts = {port}-{port}", refused.Message);

        // Before: the mailbox stayed open for a rank that never registers, and the lookup waited for the whole bound.
        using var bound = new CancellationTokenSource(Bound);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _server.Mailbox.DataPlane.LocateAsync(group.GroupId, 0, bound.Token));
        Assert.Contains("closed", error.Message);
    }

    [Theory]
    [InlineData("40000")]
    [InlineData("40010-40000")]
    [InlineData("0-10")]
    [InlineData("40000-70000")]
    public void A_malformed_port_range_names_the_setting(string ports)
    {
        var error = Assert.Throws<ArgumentException>(() => CollectiveOptionsValidator.ThrowIfInvalid(new CollectiveOptions { DataPlanePorts = ports }));
        Assert.Contains("Collectives:DataPlanePorts", error.Message);
    }

    private static CollectiveOptions Options() =>
        new() { Token = Token, ChunkBytes = 256, Timeout = TimeSpan.FromSeconds(60), Transport = RingTransport.Tcp };

    /// <summary>Plays a stranger: connects to <paramref name="rank"/>'s data-plane port with the real handshake.</summary>
    private async Task<string?> DialAsync(TestRing ring, int rank, DataPlaneHello hello, string? token)
    {
        var port = await _server.Mailbox.DataPlane.LocateAsync(ring.Group.GroupId, rank, CancellationToken.None);
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        var refusal = await DataPlaneHandshake.DialAsync(stream, hello, token, CancellationToken.None);

        // A refused connection is closed by the listener after the reason.
        if (refusal is not null)
        {
            Assert.Equal(0, await stream.ReadAsync(new byte[1]));
        }

        return refusal;
    }

    private static async Task AssertSumsAsync(TestRing ring)
    {
        var buffers = TestData.IntegerBuffers(ring.Ranks.Count, 1001);
        var expected = TestData.ExpectedSum(buffers);
        await ring.SumAllAsync(buffers);
        TestData.AssertExact(expected, buffers);
    }
}
