using Google.Protobuf;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace SegCluster.Collectives.Tests;

/// <summary>
/// A node's mailbox keeps a parked chunk as long as its receiver may still come: a rank may start up to ConnectTimeout
/// after its predecessor sent it its first chunks (gRPC transport). The retention was a fixed 10 minutes, so with a longer
/// ConnectTimeout (torch.distributed's init timeout is 30 minutes) a rank starting 10 minutes late found its chunks
/// swept and failed "did not arrive".
/// </summary>
public sealed class CollectiveMailboxRetentionTests
{
    [Fact]
    public void A_chunk_parked_for_a_rank_starting_within_ConnectTimeout_is_still_there_and_dropped_after_twice_that()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Collectives:ConnectTimeout"] = "00:30:00" })
            .Build();
        using var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<TimeProvider>(clock)
            .AddSegClusterCollectives()
            .BuildServiceProvider();
        var mailbox = services.GetRequiredService<CollectiveMailbox>();

        mailbox.Deposit(Chunk(step: 0));
        clock.Advance(TimeSpan.FromMinutes(25));  // the receiving rank is still starting, within ConnectTimeout
        mailbox.Deposit(Chunk(step: 1));  // deposits sweep the expired chunks

        Assert.Equal(2, mailbox.DepositedCount);
        Assert.False(mailbox.Deposit(Chunk(step: 0)));  // still parked: a duplicate is refused

        clock.Advance(TimeSpan.FromMinutes(36));  // 61 minutes after step 0 arrived, 36 after step 1
        mailbox.Deposit(Chunk(step: 2));
        Assert.Equal(2, mailbox.DepositedCount);  // step 0 was dropped: nobody took it in twice ConnectTimeout
        Assert.True(mailbox.Deposit(Chunk(step: 0)));
        Assert.Equal(TimeSpan.FromHours(1), mailbox.Retention);
    }

    [Theory]
    [InlineData(60, 600, 20)]  // defaults: Timeout 1 min, ConnectTimeout 10 min
    [InlineData(1800, 600, 60)]  // a Timeout above ConnectTimeout bounds the waits after formation
    [InlineData(1, 2, 10)]  // never below the default
    public void The_retention_is_twice_the_longest_wait_and_at_least_the_default(int timeoutSeconds, int connectSeconds, int expectedMinutes) =>
        Assert.Equal(TimeSpan.FromMinutes(expectedMinutes), CollectiveMailbox.RetentionFor(
            new CollectiveOptions { Timeout = TimeSpan.FromSeconds(timeoutSeconds), ConnectTimeout = TimeSpan.FromSeconds(connectSeconds) }));

    private static ChunkMessage Chunk(int step) => new()
    {
        GroupId = "g",
        SourceRank = 0,
        DestinationRank = 1,
        Sequence = 0,
        Step = step,
        Chunk = 0,
        TotalLength = 1,
        Payload = ByteString.CopyFrom(new byte[4]),
    };
}
