using Google.Protobuf;
using Microsoft.Extensions.Time.Testing;

namespace SegCluster.Collectives.Tests;

public sealed class CollectiveMailboxTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Fails a receive that hangs; not a bound on how fast anything must be.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_chunk_deposited_before_the_receiver_asks_is_kept_until_taken()
    {
        var mailbox = new CollectiveMailbox();

        Assert.True(mailbox.Deposit(Chunk(step: 1)));
        var received = await mailbox.ReceiveAsync(new ChunkKey("g", 1, 0, 1, 0), Timeout, CancellationToken.None);

        Assert.Equal(1, received.Step);
        Assert.Equal(0, mailbox.PendingCount);
    }

    [Fact]
    public async Task A_receiver_that_asks_first_gets_the_chunk_when_it_arrives()
    {
        var mailbox = new CollectiveMailbox();
        var receive = mailbox.ReceiveAsync(new ChunkKey("g", 1, 0, 0, 0), Timeout, CancellationToken.None);
        Assert.False(receive.IsCompleted);

        mailbox.Deposit(Chunk(step: 0));

        Assert.Equal(0, (await receive).Step);
    }

    [Theory]
    [InlineData("h", 1, 1, 0, 0)]  // another group
    [InlineData("g", 2, 1, 0, 0)]  // another destination rank
    [InlineData("g", 1, 0, 0, 0)]  // the previous call's sequence
    [InlineData("g", 1, 1, 1, 0)]  // another ring step
    [InlineData("g", 1, 1, 0, 1)]  // another chunk
    public async Task Chunks_are_matched_by_every_key_field(string group, int rank, long sequence, int step, int chunk)
    {
        var clock = NewClock();
        var mailbox = new CollectiveMailbox(clock, CollectiveMailbox.DefaultRetention);
        mailbox.Deposit(Chunk(step: 0, sequence: 1));  // key ("g", 1, 1, 0, 0)

        // Differs from the deposited chunk's key in one field: must not match, so it waits until its timeout.
        var other = mailbox.ReceiveAsync(new ChunkKey(group, rank, sequence, step, chunk), Timeout, CancellationToken.None);
        Assert.False(other.IsCompleted);
        clock.Advance(Timeout);
        await Assert.ThrowsAsync<TimeoutException>(() => other.WaitAsync(HangGuard));
        Assert.Equal(1, mailbox.DepositedCount);
        Assert.Equal(1, (await mailbox.ReceiveAsync(new ChunkKey("g", 1, 1, 0, 0), Timeout, CancellationToken.None)).Sequence);
    }

    /// <summary>The receive timeout runs on the mailbox's clock (the one given to it), as its retention does: a receive
    /// waiting an hour ends when that clock has moved an hour, not before.</summary>
    [Fact]
    public async Task A_receive_times_out_by_the_mailboxs_clock()
    {
        var clock = NewClock();
        var mailbox = new CollectiveMailbox(clock, CollectiveMailbox.DefaultRetention);
        var receive = mailbox.ReceiveAsync(new ChunkKey("g", 1, 0, 0, 0), TimeSpan.FromHours(1), CancellationToken.None);

        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.False(receive.IsCompleted);
        clock.Advance(TimeSpan.FromMinutes(1));

        // Ended by the clock, not by the guard: on the system clock it would still be waiting.
        Assert.Same(receive, await Task.WhenAny(receive, Task.Delay(HangGuard)));
        await Assert.ThrowsAsync<TimeoutException>(() => receive);
        Assert.Equal(0, mailbox.PendingCount);
    }

    [Fact]
    public void Duplicates_and_chunks_for_closed_ranks_are_refused()
    {
        var mailbox = new CollectiveMailbox();
        Assert.True(mailbox.Deposit(Chunk(step: 0)));
        Assert.False(mailbox.Deposit(Chunk(step: 0)));

        mailbox.Close("g", 1);

        Assert.Equal(0, mailbox.PendingCount);
        Assert.False(mailbox.Deposit(Chunk(step: 1)));
        Assert.Equal(0, mailbox.PendingCount);
    }

    [Fact]
    public void Opening_a_new_ring_of_a_closed_group_and_rank_accepts_chunks_again()
    {
        var mailbox = new CollectiveMailbox();
        mailbox.Close("g", 1);
        Assert.False(mailbox.Deposit(Chunk(step: 0)));

        mailbox.Open("g", 1);

        Assert.True(mailbox.Deposit(Chunk(step: 0)));
    }

    [Fact]
    public void Chunks_nobody_takes_are_dropped_after_the_retention()
    {
        var clock = NewClock();
        var mailbox = new CollectiveMailbox(clock, TimeSpan.FromMinutes(10));
        mailbox.Deposit(Chunk(step: 0));

        clock.Advance(TimeSpan.FromMinutes(5));
        mailbox.Deposit(Chunk(step: 1));
        Assert.Equal(2, mailbox.DepositedCount);

        // The sweep runs on a deposit: step 0 is now older than the retention, step 1 is not.
        clock.Advance(TimeSpan.FromMinutes(6));
        mailbox.Deposit(Chunk(step: 2));

        Assert.Equal(2, mailbox.DepositedCount);
        Assert.False(mailbox.Deposit(Chunk(step: 1)));
        Assert.True(mailbox.Deposit(Chunk(step: 0)));
    }

    [Fact]
    public async Task An_abort_fails_the_waiting_and_later_receivers_of_that_operation_only()
    {
        var mailbox = new CollectiveMailbox();
        var waiting = mailbox.ReceiveAsync(new ChunkKey("g", 1, 0, 1, 0), Timeout, CancellationToken.None);
        mailbox.Deposit(Chunk(step: 0));
        mailbox.Deposit(Chunk(step: 0, sequence: 1));

        Assert.True(mailbox.Abort(Abort(sequence: 0)));

        var error = await Assert.ThrowsAsync<RingAbortedException>(() => waiting);
        Assert.Equal((0, 2, "rank 2 ran out of memory."), (error.SourceRank, error.OriginRank, error.Reason));
        Assert.Contains("rank 0 gave up all-reduce sequence 0 after rank 2 failed: rank 2 ran out of memory", error.Message);
        // Its parked chunk went with it; a later receive of that operation fails at once, and a chunk for it is dropped.
        await Assert.ThrowsAsync<RingAbortedException>(() => mailbox.ReceiveAsync(new ChunkKey("g", 1, 0, 0, 0), Timeout, CancellationToken.None));
        Assert.True(mailbox.Deposit(Chunk(step: 1)));
        Assert.Equal(1, mailbox.PendingCount);
        // The next operation is untouched.
        Assert.Equal(1, (await mailbox.ReceiveAsync(new ChunkKey("g", 1, 1, 0, 0), Timeout, CancellationToken.None)).Sequence);
    }

    [Fact]
    public async Task Closing_forgets_aborts_and_a_closed_rank_records_none()
    {
        var mailbox = new CollectiveMailbox();
        mailbox.Abort(Abort(sequence: 0));
        mailbox.Close("g", 1);
        Assert.False(mailbox.Abort(Abort(sequence: 1)));

        // A new ring of the same group and rank (tests reuse ids; real formations do not) starts clean.
        mailbox.Open("g", 1);
        Assert.True(mailbox.Deposit(Chunk(step: 0)));
        Assert.Equal(0, (await mailbox.ReceiveAsync(new ChunkKey("g", 1, 0, 0, 0), Timeout, CancellationToken.None)).Sequence);
    }

    /// <summary>A clock that moves only when the test advances it, from a fixed instant.</summary>
    private static FakeTimeProvider NewClock() => new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static AbortMessage Abort(long sequence) => new()
    {
        GroupId = "g",
        SourceRank = 0,
        DestinationRank = 1,
        Sequence = sequence,
        OriginRank = 2,
        Reason = "rank 2 ran out of memory.",
    };

    private static ChunkMessage Chunk(int step, long sequence = 0) => new()
    {
        GroupId = "g",
        SourceRank = 0,
        DestinationRank = 1,
        Sequence = sequence,
        Step = step,
        Chunk = 0,
        TotalLength = 1,
        Payload = ByteString.CopyFrom(new byte[4]),
    };
}
