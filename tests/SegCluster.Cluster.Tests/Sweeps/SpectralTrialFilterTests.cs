using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>The spectral skip option on the real synthetic labels (64×64, 6 classes): fine grids run, hopeless ones are skipped with the numbers.</summary>
public sealed class SpectralTrialFilterTests
{
    [Fact]
    public async Task Skips_the_factors_predicted_to_lose_more_than_the_target_and_says_why()
    {
        var sweep = new SweepSpec { SpectralSkip = new SpectralSkipSpec { MaxPredictedDrop = 0.05, Images = 16 } };
        ExperimentSpec Trial(string mode, int factor) => sweep.TrialBase with { Labels = new LabelsSpec { Mode = mode, Factor = factor } };
        var trials = new List<(int, ExperimentSpec)>
        {
            (0, Trial(LabelsSpec.Full, 1)), (1, Trial(LabelsSpec.SoftCe, 2)), (2, Trial(LabelsSpec.SoftCe, 16)),
            (3, Trial(LabelsSpec.Nearest, 8)), (4, Trial(LabelsSpec.SoftKl, 4)),
        };

        var skipped = await new SpectralTrialFilter().SkipAsync(sweep, trials);

        // docs/label-grids.md's table (64 images): soft oracle 99.1% at f = 2, 96.1% at f = 4, 51.7% at f = 16; nearest 55.6% at f = 8.
        Assert.Equal([2, 3], skipped.Keys.Order());
        Assert.Contains("labels.factor 16 (4x4 grid, soft-ce) is predicted to lose", skipped[2]);
        Assert.Contains("nearest oracle", skipped[3]);
        Assert.Contains("max_predicted_drop 5.0", skipped[3]);
    }

    [Fact]
    public async Task Without_the_option_nothing_is_analysed_or_skipped()
    {
        var sweep = new SweepSpec();
        var trial = sweep.TrialBase with { Labels = new LabelsSpec { Mode = LabelsSpec.Nearest, Factor = 16 } };
        Assert.Empty(await new SpectralTrialFilter().SkipAsync(sweep, [(0, trial)]));
    }
}
