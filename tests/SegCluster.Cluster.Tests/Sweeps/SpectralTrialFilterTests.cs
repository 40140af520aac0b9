using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;
using SegCluster.Cluster.Tests.Data;
using SkiaSharp;

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

        // docs/label-grids.md's table (64 images): soft oracle 99.1% at f = 2, 96.3% at f = 4, 51.6% at f = 16; nearest 72.2% at f = 8.
        Assert.Equal([2, 3], skipped.Keys.Order());
        Assert.Contains("labels.factor 16 (4x4 grid, soft-ce) is predicted to lose", skipped[2]);
        Assert.Contains("nearest oracle", skipped[3]);
        Assert.Contains("max_predicted_drop 5.0", skipped[3]);
    }

    /// <summary>What a sweep's driver applies: only pending trials are analysed and skipped (in place, with the reason); a
    /// trial that finished keeps its result, and a wait cut short by a cancel changes nothing.</summary>
    [Fact]
    public async Task Skipping_a_sweeps_pending_trials_marks_the_hopeless_ones_and_leaves_finished_trials_and_a_cancel_alone()
    {
        var sweep = new SweepSpec
        {
            Name = "grids", SpectralSkip = new SpectralSkipSpec { MaxPredictedDrop = 0.05, Images = 16 }, Base = new ExperimentSpec { Labels = new LabelsSpec { Mode = LabelsSpec.SoftCe } },
            Axes = [new SweepAxis { Path = "labels.factor", Kind = SweepAxis.Grid, Values = ["16", "2", "16"] }],
        };
        var (planned, _) = Cluster.Sweeps.Search.TrialPlanner.Expand(sweep);
        planned[2] = planned[2] with { State = TrialState.Completed, Metric = 0.4 };

        var cancelled = new List<TrialResult>(planned);
        Assert.False(await new SpectralTrialFilter().SkipPendingAsync(sweep, cancelled, new CancellationToken(canceled: true)));
        Assert.Equal(planned, cancelled);

        Assert.True(await new SpectralTrialFilter().SkipPendingAsync(sweep, planned, CancellationToken.None));
        Assert.Equal([TrialState.Skipped, TrialState.Pending, TrialState.Completed], planned.Select(t => t.State));
        Assert.StartsWith("spectral: labels.factor 16", planned[0].Reason, StringComparison.Ordinal);
        Assert.Equal((double?)0.4, planned[2].Metric);
    }

    [Fact]
    public async Task A_files_dataset_is_judged_on_its_own_masks_not_on_synthetic_scenes()
    {
        // Quadrant masks (16×16 blocks of one class): every grid up to f = 16 keeps them exactly, so nothing is skipped;
        // synthetic scenes of the same size lose far more than 5 points at f = 16 (the test above).
        var root = Directory.CreateTempSubdirectory("segcluster-spectral-files-").FullName;
        try
        {
            WriteQuadrants(root, count: 4);
            var sweep = new SweepSpec
            {
                SpectralSkip = new SpectralSkipSpec { MaxPredictedDrop = 0.05, Images = 4 },
                Base = new ExperimentSpec { Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = root, Format = "folder", NumClasses = 4, Height = 32, Width = 32 } },
            };
            ExperimentSpec Trial(string mode) => sweep.TrialBase with { Labels = new LabelsSpec { Mode = mode, Factor = 16 } };

            Assert.Empty(await new SpectralTrialFilter().SkipAsync(sweep, [(1, Trial(LabelsSpec.Nearest)), (2, Trial(LabelsSpec.SoftCe))]));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void WriteQuadrants(string root, int count)
    {
        const int side = 32;
        File.WriteAllText(Path.Combine(root, "classes.json"), """["a", "b", "c", "d"]""");
        foreach (var split in new[] { "train", "val" })
            for (int i = 0; i < count; i++)
            {
                using var image = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
                using var mask = new SKBitmap(new SKImageInfo(side, side, SKColorType.Gray8, SKAlphaType.Opaque));
                for (int y = 0; y < side; y++)
                    for (int x = 0; x < side; x++)
                    {
                        var cls = (x / 16 + 2 * (y / 16) + i) % 4;
                        image.SetPixel(x, y, new SKColor((byte)(60 * cls), (byte)(20 * i), 90));
                        mask.GetPixelSpan()[y * side + x] = (byte)cls;
                    }
                TinyFolderDataset.Save(image, Path.Combine(root, "images", split, $"q{i}.png"));
                TinyFolderDataset.Save(mask, Path.Combine(root, "masks", split, $"q{i}.png"));
            }
    }

    [Fact]
    public async Task Without_the_option_nothing_is_analysed_or_skipped()
    {
        var sweep = new SweepSpec();
        var trial = sweep.TrialBase with { Labels = new LabelsSpec { Mode = LabelsSpec.Nearest, Factor = 16 } };
        Assert.Empty(await new SpectralTrialFilter().SkipAsync(sweep, [(0, trial)]));
    }
}
