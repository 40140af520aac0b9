using System.Diagnostics;
using SegCluster.Collectives;

namespace SegCluster.Bench.AllReduce;

/// <summary>
/// What one rank does in the benchmark: for each size, one warm-up call then <c>iterations</c> timed calls
/// of the real ring, and a check that the sum is exact (rank r contributes r + 1 everywhere, exact in fp16 too).
/// Then one call on gradient-like data to measure the wire format's error. Timed as bench/pytorch/gloo_allreduce.py
/// times gloo, so the two compare: a barrier before each call (ranks start together, no skew from the refill), and
/// each call's time is the slowest rank's.
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
            var seconds = new double[iterations];
            for (var i = 0; i <= iterations; i++)
            {
                Array.Fill(buffer, ring.Rank + 1f);
                await BarrierAsync(ring);
                var clock = Stopwatch.StartNew();
                await ring.SumAsync(buffer);
                if (i > 0) seconds[i - 1] = clock.Elapsed.TotalSeconds;  // call 0 warms connections and JIT
                if (buffer[0] != expected || buffer[^1] != expected)
                    throw new InvalidOperationException($"rank {ring.Rank}: all-reduce of {bytes} bytes gave {buffer[0]}, expected {expected}");
            }
            results.Add(new AllReduceTiming(bytes, await SlowestRankAsync(ring, seconds), error));
        }
        return results;
    }

    /// <summary>A one-float all-reduce: no rank returns before every rank has called it.</summary>
    private static Task BarrierAsync(RingAllReduce ring) => ring.SumAsync(new float[1]);

    /// <summary>
    /// Per call, the largest of the ranks' times: each rank puts its times in its own row of a W × n table of zeros
    /// and the ring sums the table (one non-zero per cell: exact in fp32, within 5e-4 relative on the fp16 wire),
    /// which every rank then reads.
    /// </summary>
    private static async Task<IReadOnlyList<double>> SlowestRankAsync(RingAllReduce ring, double[] seconds)
    {
        var table = new float[ring.WorldSize * seconds.Length];
        for (var i = 0; i < seconds.Length; i++) table[ring.Rank * seconds.Length + i] = (float)seconds[i];
        await ring.SumAsync(table);
        return Enumerable.Range(0, seconds.Length)
            .Select(i => Enumerable.Range(0, ring.WorldSize).Max(r => (double)table[r * seconds.Length + i])).ToList();
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
