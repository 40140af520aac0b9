namespace SegCluster.Collectives.Tests;

/// <summary>
/// <see cref="WireFormat.Fp16"/>: half the bytes, sums accumulated in fp32, every rank bit-identical, error within
/// the fp16 rounding bound; mismatched wire formats are refused at the handshake.
/// </summary>
public sealed class Fp16WireTests : IClassFixture<ServerPoolFixture>
{
    private readonly ServerPoolFixture _pool;

    public Fp16WireTests(ServerPoolFixture pool) => _pool = pool;

    [Theory]
    [InlineData(2, 1, CollectiveOptions.Fp16MinLength)]
    [InlineData(3, 2, 70_001)]
    [InlineData(4, 1, 100_003)]
    [InlineData(5, 2, 65_537)]
    public async Task Small_integers_sum_exactly_with_half_the_bytes(int worldSize, int ranksPerServer, int length)
    {
        await using var ring = _pool.CreateRing(worldSize, ranksPerServer, Fp16(chunkBytes: 4096));

        // |value| ≤ 64, so every partial sum of ≤ 5 ranks is an integer ≤ 320: exact in fp16 (11 significant bits).
        var buffers = Enumerable.Range(0, worldSize)
            .Select(rank => Enumerable.Range(0, length).Select(i => (float)((i * 13 + rank * 7) % 129 - 64)).ToArray())
            .ToArray();
        var expected = TestData.ExpectedSum(buffers);

        var stats = await ring.SumAllAsync(buffers);

        TestData.AssertExact(expected, buffers);
        Assert.Equal(2L * (worldSize - 1) * length * 2, stats.Sum(s => s.BytesSent));
    }

    [Fact]
    public async Task Random_floats_stay_within_the_fp16_rounding_bound_and_bit_identical_on_all_ranks()
    {
        const int worldSize = 4;
        const int length = 70_001;
        await using var ring = _pool.CreateRing(worldSize, ranksPerServer: 1, Fp16(chunkBytes: 4096));
        var random = new Random(99);
        var buffers = Enumerable.Range(0, worldSize)
            .Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray())
            .ToArray();
        var magnitude = Enumerable.Range(0, length).Select(i => buffers.Sum(b => Math.Abs((double)b[i]))).ToArray();
        var expected = TestData.ExpectedSum(buffers);

        await ring.SumAllAsync(buffers);

        // At most W roundings (W−1 partial sums and the all-gather), each ≤ 2^-11 relative to a partial sum ≤ Σ|x|;
        // 1e-7 absolute covers fp16's subnormal range near zero.
        for (var i = 0; i < length; i++)
        {
            var bound = worldSize * Math.Pow(2, -11) * magnitude[i] + 1e-7;
            Assert.True(Math.Abs(buffers[0][i] - expected[i]) <= bound, $"element {i}: {buffers[0][i]} vs {expected[i]} (bound {bound})");
        }

        for (var rank = 1; rank < worldSize; rank++)
        {
            Assert.True(buffers[0].AsSpan().SequenceEqual(buffers[rank]), $"rank {rank} differs from rank 0 after the all-gather");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_sum_above_the_fp16_range_does_not_overflow_where_no_input_does(int worldSize)
    {
        await using var ring = _pool.CreateRing(worldSize, ranksPerServer: 1, Fp16(chunkBytes: 4096));

        // Loss-scaled fp16 gradients: every input fits fp16 (≤ 65504), their sum (W × 40,000) does not. Divided by the
        // power of two P ≥ W before the ring and multiplied by P after, 40,000 / P is exact in fp16, and so is the sum.
        var buffers = Enumerable.Range(0, worldSize).Select(_ => Enumerable.Repeat(40_000f, CollectiveOptions.Fp16MinLength).ToArray()).ToArray();

        await ring.SumAllAsync(buffers);

        Assert.All(buffers, b => Assert.All(b, v => Assert.Equal(worldSize * 40_000f, v)));
    }

    [Fact]
    public async Task Buffers_shorter_than_the_fp16_minimum_travel_in_fp32_so_counts_do_not_overflow()
    {
        await using var ring = _pool.CreateRing(2, ranksPerServer: 1, Fp16(chunkBytes: 256));

        // Global pixel counts: 2 × 40,000 = 80,000 is above fp16's largest finite value, 65504; 1.0001 needs fp32 bits.
        float[][] buffers = [[40_000f, 3f, 1.0001f], [40_000f, 4f, 2f]];

        var stats = await ring.SumAllAsync(buffers);

        Assert.All(buffers, b => Assert.Equal([80_000f, 7f, 1.0001f + 2f], b));
        Assert.Equal(2L * 3 * sizeof(float), stats.Sum(s => s.BytesSent));
    }

    [Fact]
    public async Task A_full_precision_sum_travels_in_fp32_on_an_fp16_ring()
    {
        await using var ring = _pool.CreateRing(2, ranksPerServer: 1, Fp16(chunkBytes: 4096));

        // A weight broadcast: rank 0 sends values with fp32's 24 significant bits, rank 1 zeros. The same call in fp16
        // would round them to 11 bits.
        const int length = CollectiveOptions.Fp16MinLength;
        var weights = Enumerable.Range(0, length).Select(i => 1f + i * 1e-6f).ToArray();
        float[][] buffers = [[.. weights], new float[length]];
        float[][] rounded = [[.. weights], new float[length]];

        var stats = await ring.SumAllAsync(buffers, fullPrecision: true);
        await ring.SumAllAsync(rounded);

        Assert.All(buffers, b => Assert.Equal(weights, b));
        Assert.Equal(2L * length * sizeof(float), stats.Sum(s => s.BytesSent));
        Assert.NotEqual(weights, rounded[0]);
    }

    [Fact]
    public async Task Ranks_with_different_wire_formats_are_refused_naming_the_setting()
    {
        var servers = _pool.Servers;
        var group = new RingGroup($"test-{Guid.NewGuid():N}", [servers[0].Endpoint, servers[1].Endpoint]);
        var fp32 = new CollectiveOptions { Timeout = TimeSpan.FromSeconds(30) };
        await using var rank0 = new RingAllReduce(group, 0, servers[0].Mailbox, Fp16(chunkBytes: 256));
        await using var rank1 = new RingAllReduce(group, 1, servers[1].Mailbox, fp32);

        var error = await Assert.ThrowsAsync<CollectiveException>(() => rank0.SumAsync(new float[16]));

        Assert.Contains("wire format", error.Message);
        Assert.Contains("Collectives:Wire", error.Message);
        Assert.Equal(1, error.PeerRank);
    }

    [Fact]
    public void Fp16_over_the_grpc_transport_is_rejected_naming_both_settings()
    {
        var group = new RingGroup("fp16-grpc", ["http://127.0.0.1:1", "http://127.0.0.1:2"]);
        var options = new CollectiveOptions { Wire = WireFormat.Fp16, Transport = RingTransport.Grpc };

        var error = Assert.Throws<ArgumentException>(() => new RingAllReduce(group, 0, new CollectiveMailbox(), options));

        Assert.Contains("Collectives:Wire", error.Message);
        Assert.Contains("Collectives:Transport", error.Message);
    }

    private static CollectiveOptions Fp16(int chunkBytes) =>
        new() { Wire = WireFormat.Fp16, ChunkBytes = chunkBytes, Timeout = TimeSpan.FromSeconds(60) };
}
