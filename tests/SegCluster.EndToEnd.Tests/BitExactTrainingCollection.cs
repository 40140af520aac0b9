namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Tests that compare two trainings in one process bit for bit run alone, not beside other test classes: torch's
/// intra-op thread count is process-wide and every embedded node sets it from its worker count (EffectiveTorchThreads),
/// so a one-worker node started beside a two-worker run changes the thread count mid-run, and with it how libtorch
/// splits its reductions: losses then differed in the last float bit (ResumeAndLoadFromTests, beside ClusterApiTests).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BitExactTrainingCollection
{
    public const string Name = "bit-exact training";
}
