using System.Diagnostics;
using SegCluster.Collectives;

namespace SegCluster.Bench.AllReduce;

/// <summary>
/// What one rank does in the benchmark: for each size, one warm-up call then <c>iterations</c> timed calls
/// of the real ring, and a check that the sum is exact (rank r contributes r + 1 everywhere, exact in fp16 too).
/// Then one call on gradient-like data to measure the wire format's error.
/// </summary>
internal static class AllReduceRank
{
    // Gradient-like values: random sign, magnitudes log-uniform over 1e-6 .. 1e-1 (fp16's subnormal range included).
    private const int ErrorProbeLength = 1 << 20;

    public static async Task<IReadOnlyList<AllReduceTiming>> RunAsync(RingAllReduce ring, IReadOnlyList<long> sizes, int iterations)
    {
        var error = await RelativeErrorAsync(ring);
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
            results.Add(new AllReduceTiming(bytes, seconds, error));
        }
        return results;
    }

    /// <summary>‖ring sum − exact sum‖₂ / ‖exact sum‖₂ on <see cref="ErrorProbeLength"/> gradient-like floats per rank.</summary>
    private static async Task<double> RelativeErrorAsync(RingAllReduce ring)
    {
        var exact = new double[ErrorProbeLength];
        float[] mine = [];
        for (var r = 0; r < ring.WorldSize; r++)
        {
            var values = GradientLike(r);
            for (var i = 0; i < exact.Length; i++) exact[i] += values[i];
            if (r == ring.Rank) mine = values;
        }
        await ring.SumAsync(mine);
        double difference = 0, norm = 0;
        for (var i = 0; i < exact.Length; i++)
        {
            difference += (mine[i] - exact[i]) * (mine[i] - exact[i]);
            norm += exact[i] * exact[i];
        }
        return Math.Sqrt(difference / norm);
    }

    private static float[] GradientLike(int rank)
    {
        var random = new Random(1000 + rank);
        return Enumerable.Range(0, ErrorProbeLength)
            .Select(_ => (float)((random.Next(2) * 2 - 1) * Math.Pow(10, -1 - 5 * random.NextDouble()))).ToArray();
    }
}
