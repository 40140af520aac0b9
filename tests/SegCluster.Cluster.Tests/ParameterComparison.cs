using SegCluster.Vision.Models;
using SegCluster.Cluster.Training;

namespace SegCluster.Cluster.Tests;

/// <summary>Seeded tiny models and parameter comparisons shared by the data-parallel equivalence tests.</summary>
internal static class ParameterComparison
{
    /// <summary>A model initialised from <paramref name="seed"/>, under the lock of every seeded build in the process
    /// (torch's default generator is global; ModelInitialisationTests builds concurrently in the same test run).</summary>
    public static SegmentationModel CreateModel(ModelOptions options, int seed) => SpecMapping.Seeded(seed, () => ModelRegistry.Create(options));

    public static float[][] Snapshot(SegmentationModel model) =>
        model.parameters().Select(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    /// <summary>Relative L2 error of one tensor below 1e-5: summation orders differ between the compared reductions.</summary>
    public static void AssertClose(float[] expected, float[] actual, string what)
    {
        var relative = RelativeL2(expected, actual);
        Assert.True(relative < 1e-5, $"{what}: relative L2 difference {relative:E2} exceeds 1e-5");
    }

    /// <summary>‖actual − expected‖ / ‖expected‖ (denominator at least 1e-12).</summary>
    public static double RelativeL2(float[] expected, float[] actual)
    {
        double diff = 0, norm = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            diff += Math.Pow(expected[i] - actual[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-12);
    }
}
