using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SegCluster.Collectives.Tests;

public sealed class CollectiveOptionsTests
{
    private static readonly RingGroup Group = new("options", ["http://127.0.0.1:1", "http://127.0.0.1:2"]);

    [Theory]
    [InlineData(0)]
    [InlineData(-4)]
    [InlineData(63)]
    [InlineData(CollectiveOptions.MaxChunkBytes + 4)]
    public void Invalid_chunk_size_is_rejected_naming_the_setting(int chunkBytes)
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new RingAllReduce(Group, 0, new CollectiveMailbox(), new CollectiveOptions { ChunkBytes = chunkBytes }));

        Assert.Contains("Collectives:ChunkBytes", error.Message);
    }

    [Fact]
    public void Unknown_transport_or_wire_format_is_rejected_listing_the_choices()
    {
        var error = Assert.Throws<ArgumentException>(() => new RingAllReduce(Group, 0, new CollectiveMailbox(),
            new CollectiveOptions { Transport = (RingTransport)7, Wire = (WireFormat)9 }));

        Assert.Contains("Collectives:Transport", error.Message);
        Assert.Contains("Tcp, Grpc", error.Message);
        Assert.Contains("Collectives:Wire", error.Message);
        Assert.Contains("Fp32, Fp16", error.Message);
    }

    [Fact]
    public void Non_positive_timeout_is_rejected_naming_the_setting()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new RingAllReduce(Group, 0, new CollectiveMailbox(), new CollectiveOptions { Timeout = TimeSpan.Zero }));

        Assert.Contains("Collectives:Timeout", error.Message);
        error = Assert.Throws<ArgumentException>(() =>
            new RingAllReduce(Group, 0, new CollectiveMailbox(), new CollectiveOptions { ConnectTimeout = TimeSpan.Zero }));
        Assert.Contains("Collectives:ConnectTimeout", error.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    public void Rank_outside_the_group_is_rejected(int rank)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RingAllReduce(Group, rank, new CollectiveMailbox(), new CollectiveOptions()));
    }

    [Fact]
    public void Malformed_endpoint_is_rejected_naming_its_rank()
    {
        var group = new RingGroup("bad", ["http://127.0.0.1:1", "127.0.0.1:2"]);

        var error = Assert.Throws<ArgumentException>(() => new RingAllReduce(group, 0, new CollectiveMailbox(), new CollectiveOptions()));

        Assert.Contains("Endpoints[1]", error.Message);
    }

    [Fact]
    public void A_group_id_too_long_for_the_handshake_is_rejected_at_construction()
    {
        var group = new RingGroup(new string('é', 513), ["http://127.0.0.1:1", "http://127.0.0.1:2"]);  // 1,026 bytes in UTF-8

        var error = Assert.Throws<ArgumentException>(() => new RingAllReduce(group, 0, new CollectiveMailbox(), new CollectiveOptions()));

        Assert.Contains("GroupId is 1026 bytes", error.Message);
    }

    [Fact]
    public async Task Options_bind_from_the_Collectives_section()
    {
        await using var server = await CollectiveServer.StartAsync(new Dictionary<string, string?>
        {
            ["Collectives:ChunkBytes"] = "4096",
            ["Collectives:Timeout"] = "00:00:05",
            ["Collectives:ConnectTimeout"] = "00:20:00",
            ["Collectives:Transport"] = "grpc",
        });

        var options = server.Services.GetRequiredService<IOptions<CollectiveOptions>>().Value;

        Assert.Equal(RingTransport.Grpc, options.Transport);
        Assert.Equal(WireFormat.Fp32, options.Wire);
        Assert.Equal(4096, options.ChunkBytes);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(20), options.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(10), new CollectiveOptions().ConnectTimeout);
        Assert.Same(server.Mailbox, server.Services.GetRequiredService<CollectiveMailbox>());
    }

    [Fact]
    public async Task gRPC_accepts_a_message_of_the_configured_chunk_size()
    {
        const int chunkBytes = 8 << 20;
        await using var server = await CollectiveServer.StartAsync(new Dictionary<string, string?>
        {
            ["Collectives:ChunkBytes"] = chunkBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

        var grpc = server.Services.GetRequiredService<IOptions<GrpcServiceOptions>>().Value;
        var kestrel = server.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;

        Assert.True(grpc.MaxReceiveMessageSize > chunkBytes, $"MaxReceiveMessageSize {grpc.MaxReceiveMessageSize}");
        Assert.True(kestrel.Limits.Http2.InitialStreamWindowSize >= 1 << 20);

        // And a real 8 MiB chunk (twice gRPC's default cap) goes through.
        await using var ring = TestRing.Create([server, server], new CollectiveOptions { ChunkBytes = chunkBytes, Transport = RingTransport.Grpc });
        var buffers = TestData.IntegerBuffers(2, 2 * chunkBytes / sizeof(float));
        var expected = TestData.ExpectedSum(buffers);
        await ring.SumAllAsync(buffers);
        TestData.AssertExact(expected, buffers);
    }

    [Fact]
    public async Task Invalid_configuration_fails_at_start_up()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            CollectiveServer.StartAsync(new Dictionary<string, string?> { ["Collectives:ChunkBytes"] = "1001" }));

        Assert.Contains("Collectives:ChunkBytes", error.Message);
    }
}
