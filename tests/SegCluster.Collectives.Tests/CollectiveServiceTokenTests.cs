using Grpc.Core;
using Grpc.Net.Client;
using Google.Protobuf;

namespace SegCluster.Collectives.Tests;

/// <summary>With Collectives:Token set, only calls carrying that bearer token deposit anything.</summary>
public sealed class CollectiveServiceTokenTests : IAsyncLifetime
{
    private const string Token = "s3cret-cluster-token";

    private CollectiveServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await CollectiveServer.StartAsync(new Dictionary<string, string?> { ["Collectives:Token"] = Token });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(null, StatusCode.Unauthenticated)]
    [InlineData("Bearer wrong-token", StatusCode.PermissionDenied)]
    [InlineData("Bearer ", StatusCode.PermissionDenied)]
    [InlineData("s3cret-cluster-token", StatusCode.Unauthenticated)]
    public async Task Calls_without_the_right_token_are_rejected_and_deposit_nothing(string? authorization, StatusCode expected)
    {
        using var channel = GrpcChannel.ForAddress(_server.Endpoint);
        var client = new Collective.CollectiveClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.DepositAsync(Chunk("rejected"), Headers(authorization)));

        Assert.Equal(expected, error.StatusCode);
        Assert.Equal(0, _server.Mailbox.PendingCount);
    }

    [Theory]
    [InlineData(null, StatusCode.Unauthenticated)]
    [InlineData("Bearer wrong-token", StatusCode.PermissionDenied)]
    public async Task An_abort_without_the_right_token_is_rejected_and_aborts_nothing(string? authorization, StatusCode expected)
    {
        using var channel = GrpcChannel.ForAddress(_server.Endpoint);
        var client = new Collective.CollectiveClient(channel);
        var abort = new AbortMessage { GroupId = "kept", SourceRank = 0, DestinationRank = 1, Sequence = 0, OriginRank = 0, Reason = "forged" };

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.AbortAsync(abort, Headers(authorization)));

        Assert.Equal(expected, error.StatusCode);
        await client.DepositAsync(Chunk("kept"), Headers($"Bearer {Token}"));
        var received = await _server.Mailbox.ReceiveAsync(new ChunkKey("kept", 1, 0, 0, 0), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(8, received.Payload.Length);
    }

    [Fact]
    public async Task A_call_with_the_right_token_deposits_its_chunk()
    {
        using var channel = GrpcChannel.ForAddress(_server.Endpoint);
        var client = new Collective.CollectiveClient(channel);

        await client.DepositAsync(Chunk("accepted"), new Metadata { { "authorization", $"Bearer {Token}" } });

        var received = await _server.Mailbox.ReceiveAsync(new ChunkKey("accepted", 1, 0, 0, 0), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(8, received.Payload.Length);
    }

    [Theory]
    [InlineData(RingTransport.Tcp)]
    [InlineData(RingTransport.Grpc)]
    public async Task A_ring_configured_with_the_token_sums(RingTransport transport)
    {
        await using var ring = TestRing.Create([_server, _server], new CollectiveOptions { Token = Token, ChunkBytes = 64, Transport = transport });
        var buffers = TestData.IntegerBuffers(2, 99);
        var expected = TestData.ExpectedSum(buffers);

        await ring.SumAllAsync(buffers);

        TestData.AssertExact(expected, buffers);
    }

    [Theory]
    [InlineData(RingTransport.Tcp)]
    [InlineData(RingTransport.Grpc)]
    public async Task A_ring_with_the_wrong_token_fails_naming_the_token(RingTransport transport)
    {
        await using var ring = TestRing.Create([_server, _server], new CollectiveOptions { Token = "wrong", Timeout = TimeSpan.FromSeconds(2), Transport = transport });

        var error = await Assert.ThrowsAsync<CollectiveException>(() => ring.SumAllAsync([new float[8], new float[8]]));

        Assert.Contains("token", error.Message);
        Assert.Contains("PermissionDenied", error.Message);
    }

    private static Metadata Headers(string? authorization) =>
        authorization is null ? new Metadata() : new Metadata { { "authorization", authorization } };

    private static ChunkMessage Chunk(string groupId) => new()
    {
        GroupId = groupId,
        SourceRank = 0,
        DestinationRank = 1,
        Sequence = 0,
        Step = 0,
        Chunk = 0,
        TotalLength = 2,
        Payload = ByteString.CopyFrom(new byte[8]),
    };
}
