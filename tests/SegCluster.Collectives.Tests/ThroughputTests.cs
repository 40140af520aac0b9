using System.Diagnostics;
using Xunit.Abstractions;

namespace SegCluster.Collectives.Tests;

/// <summary>
/// A large buffer at the default 1 MB chunk size: correctness of the production configuration, plus the
/// measured algorithm bandwidth (buffer bytes / wall time of one call) written to the test output.
/// </summary>
public sealed class ThroughputTests : IClassFixture<ServerPoolFixture>
{
    private readonly ServerPoolFixture _pool;
    private readonly ITestOutputHelper _output;

    public ThroughputTests(ServerPoolFixture pool, ITestOutputHelper output)
    {
        _pool = pool;
        _output = output;
    }

    [Theory]
    [InlineData(2, 1, 16)]
    [InlineData(2, 2, 16)]
    public async Task Large_buffer_at_default_chunk_size_sums_exactly(int worldSize, int ranksPerServer, int megabytes)
    {
        var length = megabytes * (1 << 20) / sizeof(float);
        await using var ring = _pool.CreateRing(worldSize, ranksPerServer, new CollectiveOptions());
        var buffers = new float[worldSize][];
        for (var rank = 0; rank < worldSize; rank++)
        {
            buffers[rank] = new float[length];
            for (var i = 0; i < length; i++)
            {
                buffers[rank][i] = (i % 4096) * (rank + 1);
            }
        }

        // Warm-up call opens the HTTP/2 connections and JITs the path (all-zero buffers stay zero).
        await ring.SumAllAsync(Enumerable.Range(0, worldSize).Select(_ => new float[length]).ToArray());
        var stopwatch = Stopwatch.StartNew();
        var stats = await ring.SumAllAsync(buffers);
        var elapsed = stopwatch.Elapsed;

        var factor = worldSize * (worldSize + 1) / 2;
        for (var rank = 0; rank < worldSize; rank++)
        {
            for (var i = 0; i < length; i++)
            {
                if (buffers[rank][i] != (i % 4096) * factor)
                {
                    Assert.Fail($"rank {rank} element {i}: expected {(i % 4096) * factor}, got {buffers[rank][i]}");
                }
            }
        }

        var gigabytesPerSecond = (double)length * sizeof(float) / elapsed.TotalSeconds / 1e9;
        _output.WriteLine(
            $"W={worldSize} ranksPerServer={ranksPerServer} {megabytes} MiB: {elapsed.TotalMilliseconds:F0} ms, " +
            $"algorithm bandwidth {gigabytesPerSecond:F3} GB/s, rank 0 sent {stats[0].BytesSent} bytes");
    }
}
