namespace SegCluster.Collectives.Tests;

internal static class TestData
{
    /// <summary>
    /// Integer-valued floats of magnitude below 2^24 / 8, so any sum of up to 5 ranks is exact in float32
    /// whatever the order, and the expected result can be compared with ==.
    /// </summary>
    public static float[][] IntegerBuffers(int worldSize, int length, int salt = 0) =>
        Enumerable.Range(0, worldSize)
            .Select(rank => Enumerable.Range(0, length)
                .Select(i => (float)((((i * 7) + salt) % 2001 - 1000) * (rank + 1) + rank))
                .ToArray())
            .ToArray();

    public static double[] ExpectedSum(float[][] buffers)
    {
        var sum = new double[buffers[0].Length];
        foreach (var buffer in buffers)
        {
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += buffer[i];
            }
        }

        return sum;
    }

    public static float[][] Copy(float[][] buffers) => buffers.Select(b => (float[])b.Clone()).ToArray();

    /// <summary>Asserts every rank holds exactly <paramref name="expected"/>, reporting the first mismatch.</summary>
    public static void AssertExact(double[] expected, float[][] results)
    {
        for (var rank = 0; rank < results.Length; rank++)
        {
            Assert.Equal(expected.Length, results[rank].Length);
            for (var i = 0; i < expected.Length; i++)
            {
                if (results[rank][i] != (float)expected[i])
                {
                    Assert.Fail($"rank {rank} element {i}: expected {expected[i]}, got {results[rank][i]}");
                }
            }
        }
    }
}
