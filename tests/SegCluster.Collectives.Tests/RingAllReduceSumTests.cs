namespace SegCluster.Collectives.Tests;

/// <summary>Sums over both transports (TCP data plane, gRPC) on loopback: exactness across world sizes, lengths, chunking and layouts.</summary>
public sealed class RingAllReduceSumTests : IClassFixture<ServerPoolFixture>
{
    private readonly ServerPoolFixture _pool;

    public RingAllReduceSumTests(ServerPoolFixture pool) => _pool = pool;

    public static TheoryData<RingTransport, int, int, int> WorldSizesLengthsLayouts()
    {
        var data = new TheoryData<RingTransport, int, int, int>();
        foreach (var transport in Enum.GetValues<RingTransport>())
        {
            foreach (var worldSize in new[] { 1, 2, 3, 4, 5 })
            {
                foreach (var length in new[] { 0, 1, 2, 3, 7, 1000, 100_003 })
                {
                    data.Add(transport, worldSize, length, 1);
                    if (worldSize > 1)
                    {
                        data.Add(transport, worldSize, length, 2);
                    }
                }
            }
        }

        return data;
    }

    public static TheoryData<RingTransport> Transports() => new(Enum.GetValues<RingTransport>());

    public static TheoryData<RingTransport, int, int, int> ManyTinyChunks()
    {
        var data = new TheoryData<RingTransport, int, int, int>();
        foreach (var transport in Enum.GetValues<RingTransport>())
        {
            data.Add(transport, 2, 1000, 1);
            data.Add(transport, 3, 1000, 2);
            data.Add(transport, 4, 10_007, 1);
            data.Add(transport, 5, 10_007, 2);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WorldSizesLengthsLayouts))]
    public async Task Sum_is_exact_on_every_rank(RingTransport transport, int worldSize, int length, int ranksPerServer)
    {
        // 4 KB chunks: 100_003 floats span ~100 chunks, lengths < W leave some segments empty.
        await using var ring = _pool.CreateRing(worldSize, ranksPerServer, new CollectiveOptions { ChunkBytes = 4096, Transport = transport });
        var buffers = TestData.IntegerBuffers(worldSize, length);
        var expected = TestData.ExpectedSum(buffers);

        var stats = await ring.SumAllAsync(buffers);

        TestData.AssertExact(expected, buffers);

        // Bandwidth optimality: each rank sends exactly the W−1 segments it forwards in each phase.
        var segments = Enumerable.Range(0, worldSize).Select(s => length / worldSize + (s < length % worldSize ? 1 : 0)).ToArray();
        Assert.All(stats, s => Assert.True(s.BytesSent <= 2L * segments.Max() * (worldSize - 1) * sizeof(float)));
        Assert.Equal(2L * (worldSize - 1) * length * sizeof(float), stats.Sum(s => s.BytesSent));
    }

    /// <summary>A gradient bucket is a slice of the flat gradient: the ring sums that slice in place and nothing around it.</summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Sum_of_an_array_slice_sums_the_slice_only(RingTransport transport)
    {
        const int Before = 13, Length = 10_007, After = 5;
        await using var ring = _pool.CreateRing(3, 1, new CollectiveOptions { ChunkBytes = 4096, Transport = transport });
        var slices = TestData.IntegerBuffers(3, Length);
        var expected = TestData.ExpectedSum(slices);
        var arrays = slices.Select((slice, rank) => Enumerable.Repeat(-1f - rank, Before).Concat(slice).Concat(Enumerable.Repeat(7f, After)).ToArray()).ToArray();

        await Task.WhenAll(arrays.Select((array, rank) => ring.Ranks[rank].SumAsync(array.AsMemory(Before, Length))));

        TestData.AssertExact(expected, [.. arrays.Select(a => a[Before..(Before + Length)])]);
        for (var rank = 0; rank < 3; rank++)
        {
            Assert.All(arrays[rank][..Before], v => Assert.Equal(-1f - rank, v));
            Assert.All(arrays[rank][(Before + Length)..], v => Assert.Equal(7f, v));
        }
    }

    [Theory]
    [MemberData(nameof(ManyTinyChunks))]
    public async Task Sum_is_exact_when_segments_span_many_tiny_chunks(RingTransport transport, int worldSize, int length, int ranksPerServer)
    {
        // 64-byte chunks (16 floats): hundreds of chunks per step, several in flight at once.
        await using var ring = _pool.CreateRing(worldSize, ranksPerServer, new CollectiveOptions { ChunkBytes = 64, Transport = transport });
        var buffers = TestData.IntegerBuffers(worldSize, length);
        var expected = TestData.ExpectedSum(buffers);

        await ring.SumAllAsync(buffers);

        TestData.AssertExact(expected, buffers);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Random_floats_sum_within_tolerance_and_are_bit_identical_on_all_ranks(RingTransport transport)
    {
        const int worldSize = 4;
        const int length = 10_007;
        await using var ring = _pool.CreateRing(worldSize, ranksPerServer: 1, new CollectiveOptions { ChunkBytes = 256, Transport = transport });
        var random = new Random(1234);
        var buffers = Enumerable.Range(0, worldSize)
            .Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray())
            .ToArray();
        var expected = TestData.ExpectedSum(buffers);

        await ring.SumAllAsync(buffers);

        for (var i = 0; i < length; i++)
        {
            Assert.InRange(buffers[0][i], expected[i] - 1e-5, expected[i] + 1e-5);
        }

        // The all-gather copies each reduced segment, so every rank must hold the very same bits.
        for (var rank = 1; rank < worldSize; rank++)
        {
            Assert.True(
                buffers[0].AsSpan().SequenceEqual(buffers[rank]),
                $"rank {rank} differs from rank 0 after the all-gather");
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Several_ranks_in_one_process_share_one_endpoint_and_mailbox(RingTransport transport)
    {
        // Three ranks, one server: every hop is a gRPC call back into the same process.
        var server = _pool.Servers[0];
        await using var ring = TestRing.Create([server, server, server], new CollectiveOptions { ChunkBytes = 128, Transport = transport });
        var buffers = TestData.IntegerBuffers(3, 1001);
        var expected = TestData.ExpectedSum(buffers);

        await ring.SumAllAsync(buffers);

        TestData.AssertExact(expected, buffers);
        Assert.Equal(0, server.Mailbox.DepositedCount);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Consecutive_calls_on_one_ring_are_kept_apart_by_sequence_number(RingTransport transport)
    {
        const int worldSize = 3;
        await using var ring = _pool.CreateRing(worldSize, ranksPerServer: 1, new CollectiveOptions { ChunkBytes = 64, Transport = transport });

        // Varying lengths and data per call: a chunk matched to the wrong call would show up as a wrong sum.
        foreach (var (length, salt) in new[] { (100, 1), (100, 2), (37, 3), (0, 4), (257, 5), (100, 6) })
        {
            var buffers = TestData.IntegerBuffers(worldSize, length, salt);
            var expected = TestData.ExpectedSum(buffers);

            await ring.SumAllAsync(buffers);

            TestData.AssertExact(expected, buffers);
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_rank_may_run_a_whole_call_ahead_of_its_successor(RingTransport transport)
    {
        // Ranks call with no barrier between operations: rank 0 may deposit chunks of call n+1 while
        // rank 1 still consumes call n. Interleave many short calls to exercise that.
        const int worldSize = 2;
        const int calls = 20;
        await using var ring = _pool.CreateRing(worldSize, ranksPerServer: 2, new CollectiveOptions { ChunkBytes = 64, Transport = transport });
        var inputs = Enumerable.Range(0, calls).Select(call => TestData.IntegerBuffers(worldSize, 50, call)).ToArray();
        var outputs = inputs.Select(TestData.Copy).ToArray();

        await Task.WhenAll(Enumerable.Range(0, worldSize).Select(rank => Task.Run(async () =>
        {
            for (var call = 0; call < calls; call++)
            {
                await ring.Ranks[rank].SumAsync(outputs[call][rank]);
            }
        })));

        for (var call = 0; call < calls; call++)
        {
            TestData.AssertExact(TestData.ExpectedSum(inputs[call]), outputs[call]);
        }
    }
}
