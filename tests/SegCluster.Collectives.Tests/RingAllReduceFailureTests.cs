namespace SegCluster.Collectives.Tests;

/// <summary>Failures surface as CollectiveException naming group, rank, peer and cause, on both transports. A failure
/// that must be noticed at once is tested with timeouts no test lasts, so only the fast path can end the call, and its
/// message must name the cause, not a timeout; <see cref="HangGuard"/> only stops a test that hangs.</summary>
public sealed class RingAllReduceFailureTests : IClassFixture<ServerPoolFixture>
{
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Timeout and ConnectTimeout of the rings whose failures must be noticed without waiting one out.</summary>
    private static readonly TimeSpan NeverTimesOut = TimeSpan.FromHours(1);

    /// <summary>Fails a call that hangs; not a bound on how fast anything must be (CI's 2 cores run at load 50).</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(3);

    private static CollectiveOptions NoTimeouts(RingTransport transport) =>
        new() { Timeout = NeverTimesOut, ConnectTimeout = NeverTimesOut, Transport = transport };

    private readonly ServerPoolFixture _pool;

    public RingAllReduceFailureTests(ServerPoolFixture pool) => _pool = pool;

    public static TheoryData<RingTransport> Transports() => new(Enum.GetValues<RingTransport>());

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Unreachable_successor_fails_fast_naming_its_endpoint(RingTransport transport)
    {
        var deadEndpoint = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        var group = new RingGroup($"test-{Guid.NewGuid():N}", [_pool.Servers[0].Endpoint, deadEndpoint]);
        await using var rank0 = new RingAllReduce(group, 0, _pool.Servers[0].Mailbox, NoTimeouts(transport));

        var error = await Assert.ThrowsAsync<CollectiveException>(() => rank0.SumAsync(new float[100])).WaitAsync(HangGuard);

        // Connection refused is reported as such, not as a chunk or connection that did not come within a timeout.
        Assert.Contains("is unreachable", error.Message);
        Assert.DoesNotContain("within", error.Message);
        Assert.Contains(group.GroupId, error.Message);
        Assert.Contains("rank 0", error.Message);
        Assert.Contains(deadEndpoint, error.Message);
        Assert.Equal(1, error.PeerRank);
        Assert.Equal(deadEndpoint, error.PeerEndpoint);
        Assert.Equal(0, error.Step);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_rank_that_never_calls_makes_the_others_time_out(RingTransport transport)
    {
        // On a first call a silent rank is a ring that never forms, which ConnectTimeout bounds. 5 s, not 2: under CI load
        // (load average 50) the rendezvous with rank 1, which does call, once took longer than 2 s.
        await using var ring = _pool.CreateRing(3, ranksPerServer: 1, new CollectiveOptions { Timeout = ShortTimeout, ConnectTimeout = TimeSpan.FromSeconds(5), Transport = transport });

        // Rank 2 never calls SumAsync.
        var rank0 = Assert.ThrowsAsync<CollectiveException>(() => ring.Ranks[0].SumAsync(new float[30]));
        var rank1 = Assert.ThrowsAsync<CollectiveException>(() => ring.Ranks[1].SumAsync(new float[30]));
        var errors = await Task.WhenAll(rank0, rank1).WaitAsync(HangGuard);

        Assert.All(errors, e => Assert.Contains(ring.Group.GroupId, e.Message));
        Assert.All(errors, e => Assert.Contains("did not arrive", e.Message));

        // Rank 0 waits on its predecessor, the silent rank 2, and gives up when the first call's bound runs out.
        Assert.Contains("within ConnectTimeout 00:00:05", errors[0].Message);
        Assert.Equal(2, errors[0].PeerRank);
        Assert.Contains(ring.Group.Endpoints[2], errors[0].Message);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Mismatched_buffer_lengths_are_reported_instead_of_summed(RingTransport transport)
    {
        // The mismatch is reported when the first chunk arrives; a 2 s timeout let a loaded machine (load 24) report a slow
        // chunk instead, so this test waits as long as a real ring would.
        await using var ring = _pool.CreateRing(2, ranksPerServer: 1, new CollectiveOptions { Timeout = TimeSpan.FromSeconds(30), Transport = transport });

        var error = await Assert.ThrowsAsync<CollectiveException>(() => ring.SumAllAsync([new float[10], new float[12]]));

        Assert.True(error.Message.Contains("same length"), error.Message);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_failure_reaches_every_rank_long_before_the_timeout_naming_its_origin(RingTransport transport)
    {
        // Rank 1's buffer is longer: ranks 1 and 2 see the mismatch in their first chunk, but rank 0's first chunk comes
        // from rank 2 and fits, so rank 0 learns of the failure only when rank 2 gives up and says so (gRPC: an abort
        // message; TCP: the closed connection). Without that it would wait out the Timeout, here longer than the test.
        await using var ring = _pool.CreateRing(3, ranksPerServer: 1, NoTimeouts(transport));

        var calls = ring.Ranks.Select((rank, i) => Assert.ThrowsAsync<CollectiveException>(() => rank.SumAsync(new float[i == 1 ? 12 : 9]))).ToArray();
        var errors = await Task.WhenAll(calls).WaitAsync(HangGuard);

        // gRPC: the abort comes from the predecessor, rank 2. TCP: ranks 1 and 2 both close their connections, and rank 0
        // reports whichever it notices first (a read from rank 2 or a write to rank 1).
        Assert.Contains(errors[0].PeerRank, transport == RingTransport.Grpc ? new int?[] { 2 } : new int?[] { 1, 2 });
        Assert.DoesNotContain("within", errors[0].Message);
        if (transport == RingTransport.Grpc)
        {
            // The abort carries the first failure, so the rank that never saw a bad chunk still says what went wrong.
            Assert.Contains("rank 2 gave up all-reduce sequence 0", errors[0].Message);
            Assert.Contains("same length", errors[0].Message);
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_cancelled_rank_releases_its_successor_at_once(RingTransport transport)
    {
        await using var ring = _pool.CreateRing(3, ranksPerServer: 1, NoTimeouts(transport));
        await ring.SumAllAsync([new float[9], new float[9], new float[9]]);  // formed: later calls wait only for data

        // Rank 2 does not call again, so rank 0 waits for it and rank 1 (after rank 0's first chunk) for rank 0.
        using var cancellation = new CancellationTokenSource();
        var rank0 = ring.Ranks[0].SumAsync(new float[9], cancellation.Token);
        var rank1 = Assert.ThrowsAsync<CollectiveException>(() => ring.Ranks[1].SumAsync(new float[9]));
        await Task.Delay(300);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rank0).WaitAsync(HangGuard);
        var error = await rank1.WaitAsync(HangGuard);
        // Released by rank 0's cancellation (its abort, or its closed connection), not by a timeout.
        Assert.Equal(0, error.PeerRank);
        Assert.DoesNotContain("within", error.Message);
        if (transport == RingTransport.Grpc)
        {
            Assert.Contains("rank 0's SumAsync call was cancelled", error.Message);
        }
    }

    [Fact]
    public async Task Disposing_a_grpc_ring_during_a_call_reports_the_disposal_not_the_abort_it_could_not_send()
    {
        // The failing call still tries to tell its successor (an abort), through the channel the disposal just closed.
        var ring = _pool.CreateRing(2, ranksPerServer: 1, new CollectiveOptions { Timeout = TimeSpan.FromSeconds(30), Transport = RingTransport.Grpc });
        await using var _ = ring;
        var call = ring.Ranks[0].SumAsync(new float[10]);  // rank 1 never calls: rank 0 waits for its chunk
        await Task.Delay(200);

        await ring.Ranks[0].DisposeAsync();

        var error = await Assert.ThrowsAsync<CollectiveException>(() => call).WaitAsync(HangGuard);
        Assert.Contains("the ring was disposed while waiting for a chunk", error.Message);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Cancellation_stops_a_waiting_call(RingTransport transport)
    {
        await using var ring = _pool.CreateRing(2, ranksPerServer: 1, new CollectiveOptions { Timeout = TimeSpan.FromSeconds(30), Transport = transport });
        using var cancellation = new CancellationTokenSource();

        // Rank 1 never calls, so rank 0 waits for its chunk until cancelled.
        var call = ring.Ranks[0].SumAsync(new float[10], cancellation.Token);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Cancellation_stops_a_call_waiting_for_data_on_a_formed_ring(RingTransport transport)
    {
        await using var ring = _pool.CreateRing(2, ranksPerServer: 1, new CollectiveOptions { Timeout = TimeSpan.FromSeconds(30), Transport = transport });
        await ring.SumAllAsync([new float[10], new float[10]]);  // connections formed: the next call waits in receive
        using var cancellation = new CancellationTokenSource();

        // Rank 1 does not call again, so rank 0's second call waits for its peer's chunk; cancelled while it waits, it must
        // end with the cancellation, not at the 30 s timeout with a CollectiveException.
        var call = ring.Ranks[0].SumAsync(new float[10], cancellation.Token);
        await Task.Delay(200);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Disposed_ring_refuses_late_chunks_and_parks_nothing(RingTransport transport)
    {
        var server = _pool.Servers[3];
        var ring = TestRing.Create([server, server], new CollectiveOptions { Timeout = ShortTimeout, Transport = transport });
        var before = server.Mailbox.PendingCount;
        await ring.DisposeAsync();

        await using var other = new RingAllReduce(ring.Group, 0, new CollectiveMailbox(), new CollectiveOptions { Timeout = ShortTimeout, Transport = transport });

        // Rank 0 of a fresh instance (own mailbox) sends to rank 1 on the server, whose ring is closed there.
        var error = await Assert.ThrowsAsync<CollectiveException>(() => other.SumAsync(new float[4]));

        Assert.Contains("FailedPrecondition", error.Message);
        Assert.Equal(before, server.Mailbox.PendingCount);
    }

}
