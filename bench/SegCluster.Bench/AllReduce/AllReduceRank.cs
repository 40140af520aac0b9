using System.Diagnostics;
using SegCluster.Collectives;

namespace SegCluster.Bench.AllReduce;

/// <summary>
/// What one rank does in the benchmark: for each size, one warm-up call then <c>iterations</c> timed calls
/// of the real ring, and a check that the sum is exact (rank r contributes r + 1 everywhere).
/// </summary>
internal static class AllReduceRank
{
    public static async Task<IReadOnlyList<AllReduceTiming>> RunAsync(RingAllReduce ring, IReadOnlyList<long> sizes, int iterations)
    {
        var results = new List<AllReduceTiming>();
        var expected = ring.WorldSize * (ring.WorldSize + 1) / 2f;
        foreach (var bytes in sizes)
        {
            var buffer = new float[bytes / sizeof(float)];
            var seconds = new List<double>();
            for (var i = 0; i <= iterations; i++)
            {
                Array.Fill(buffer, ring.Rank + 1f);
                var clock = Stopwatch.StartNew();
                await ring.SumAsync(buffer);
                if (i > 0) seconds.Add(clock.Elapsed.TotalSeconds);  // call 0 warms connections and JIT
                if (buffer[0] != expected || buffer[^1] != expected)
                    throw new InvalidOperationException($"rank {ring.Rank}: all-reduce of {bytes} bytes gave {buffer[0]}, expected {expected}");
            }
            results.Add(new AllReduceTiming(bytes, seconds));
        }
        return results;
    }
}
