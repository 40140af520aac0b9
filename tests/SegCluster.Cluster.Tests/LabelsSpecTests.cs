using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Labels;
using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests;

/// <summary>spec.labels: the mapping reaches the criterion's and the model's options (validation alone:
/// SegCluster.Abstractions.Tests).</summary>
public sealed class LabelsSpecTests
{
    [Theory]
    [InlineData("full", 1, LabelMode.Full)]
    [InlineData("nearest", 4, LabelMode.Nearest)]
    [InlineData("majority", 4, LabelMode.Majority)]
    [InlineData("soft-ce", 8, LabelMode.SoftCrossEntropy)]
    [InlineData("soft-kl", 2, LabelMode.SoftKl)]
    [InlineData("block", 16, LabelMode.Block)]
    [InlineData("scribble", 1, LabelMode.Scribble)]
    public void Valid_labels_map_to_the_loss_options(string mode, int factor, LabelMode expected)
    {
        var spec = new ExperimentSpec { Labels = new LabelsSpec { Mode = mode, Factor = factor } };
        Assert.Empty(spec.Validate());
        var labels = SpecMapping.Loss(spec).Labels!;
        Assert.Equal(expected, labels.Mode);
        Assert.Equal(factor, labels.Factor);
    }

    /// <summary>labels.renormalize (PAPERS.md §3): off by default (the authors' raw area fractions), reaches the criterion's
    /// options when set with a soft mode, and is refused with the fix for a mode without soft labels.</summary>
    [Fact]
    public void Renormalize_reaches_the_loss_options_with_soft_modes_and_is_refused_without_them()
    {
        var plain = new ExperimentSpec { Labels = new LabelsSpec { Mode = LabelsSpec.SoftCe, Factor = 4 } };
        Assert.False(SpecMapping.Loss(plain).Labels!.Renormalize);
        var renormalized = plain with { Labels = plain.Labels with { Renormalize = true } };
        Assert.Empty(renormalized.Validate());
        Assert.True(SpecMapping.Loss(renormalized).Labels!.Renormalize);
        var nearest = new ExperimentSpec { Labels = new LabelsSpec { Mode = LabelsSpec.Nearest, Factor = 4, Renormalize = true } };
        var error = Assert.Single(nearest.Validate());
        Assert.StartsWith("labels.renormalize", error, StringComparison.Ordinal);
        Assert.Contains("soft-ce or soft-kl", error, StringComparison.Ordinal);
    }

    /// <summary>labels.downsample_input (PAPERS.md §3 low-resolution training) in every down-sampling mode: the spec's network
    /// runs whole on the image area-down-sampled by labels.factor, and its training logits on the full-size image are the
    /// label grid the criterion builds from the full-resolution mask.</summary>
    [Theory]
    [InlineData(LabelsSpec.Nearest)]
    [InlineData(LabelsSpec.Majority)]
    [InlineData(LabelsSpec.SoftCe)]
    [InlineData(LabelsSpec.SoftKl)]
    [InlineData(LabelsSpec.Block)]
    public void Downsample_input_builds_the_network_on_the_down_sampled_image_in_every_mode(string mode)
    {
        var spec = new ExperimentSpec
        {
            Model = new ModelSpec { Name = "spgnet", Width = 4 },
            Dataset = new DatasetSpec { NumClasses = 3, Height = 64, Width = 64 },
            Labels = new LabelsSpec { Mode = mode, Factor = 4, DownsampleInput = true },
        };
        Assert.Empty(spec.Validate());
        using var scope = NewDisposeScope();
        using var model = SpecMapping.BuildModel(spec);
        var low = Assert.IsType<LowResolutionInputNet>(model);
        Assert.Equal(4, low.Factor);
        Assert.Equal(1, low.Inner.Options.LogitFactor);  // the whole decoder, at the small input
        model.train();
        // A generator of its own: draws from torch's global one, outside GlobalGenerator's lock, would land inside a seeded
        // build running in parallel (ModelInitialisationTests) and change its weights.
        using var generator = new Generator(1);
        var images = randn([2, 3, 64, 64], generator: generator);
        var output = model.forward(images);
        Assert.Equal(new long[] { 2, 3, 16, 16 }, output.Logits.shape);
        var labels = randint(0, 3, [2, 64, 64], dtype: ScalarType.Int64, generator: generator);
        SpecMapping.Criterion(spec).Terms(output, labels, images).Sums[0].backward();
    }

    [Theory]
    [InlineData(LabelsSpec.SoftCe, 1, 64, "labels.downsample_input: true trains on the image down-sampled by labels.factor, which is 1")]
    [InlineData(LabelsSpec.Full, 1, 64, "labels.downsample_input: true trains on the image down-sampled by labels.factor, which is 1")]
    [InlineData(LabelsSpec.SoftCe, 8, 64, "labels.downsample_input: the network would see 8x8 (dataset 64x64 / labels.factor 8), not a multiple of the model's output stride 16; use dataset.height and dataset.width that are multiples of 128")]
    public void Downsample_input_is_refused_with_the_fix_where_the_network_could_not_run(string mode, int factor, int side, string expected)
    {
        var spec = new ExperimentSpec
        {
            Dataset = new DatasetSpec { Height = side, Width = side },
            Labels = new LabelsSpec { Mode = mode, Factor = factor, DownsampleInput = true },
        };
        Assert.Contains(spec.Validate(), e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    /// <summary>
    /// A scribble loss on labels.mode full trains on scribbles (drawn by the source, or VOC's train_scribble), so the
    /// criterion built for it gives SPGNet's auxiliaries the majority of each cell's stroke pixels, as labels.mode scribble
    /// does (docs/label-grids.md): nearest sampling at the auxiliary's stride s saw only strokes on rows that are multiples of s.
    /// </summary>
    [Fact]
    public void A_scribble_loss_gives_the_auxiliaries_a_stroke_off_their_sampling_grid()
    {
        var spec = new ExperimentSpec
        {
            Model = new ModelSpec { Name = "spgnet", Width = 8 },
            Dataset = new DatasetSpec { NumClasses = 3, Height = 32, Width = 32 },
            Loss = new LossSpec { Kind = LossSpec.ScribbleRegularizedKind },
        };
        Assert.Empty(spec.Validate());
        using var scope = NewDisposeScope();
        using var model = SpecMapping.BuildModel(spec);
        model.train();
        using var generator = new Generator(1);  // not the global one (see above)
        var images = randn([1, 3, 32, 32], generator: generator);
        var output = model.forward(images);
        var strokes = full(1, 32, 32, 255L, ScalarType.Int64);
        strokes[0, 1] = tensor(2L);  // a horizontal 1-pixel stroke of class 2 on row 1, not a multiple of any stride s >= 2

        var terms = SpecMapping.Criterion(spec).Terms(output, strokes, images);

        Assert.Equal(32, terms.ReadCounts()[0]);  // the final term: every stroke pixel
        Assert.NotEmpty(output.Auxiliary);
        for (int t = 0; t < output.Auxiliary.Count; t++)
        {
            long stride = 32 / output.Auxiliary[t].shape[3];
            Assert.True(stride >= 2, $"auxiliary {t} at stride {stride}");
            Assert.Equal(32 / stride, terms.ReadCounts()[1 + t]);  // every cell the stroke crosses (nearest sampling: 0)
        }
    }

    [Fact]
    public void The_model_stops_its_decoder_at_the_label_grid_and_takes_the_truncation_ratio()
    {
        var spec = new ExperimentSpec
        {
            Labels = new LabelsSpec { Mode = LabelsSpec.SoftCe, Factor = 8 },
            Model = new ModelSpec { DecoderTruncation = 0.5 },
        };
        Assert.Empty(spec.Validate());
        var model = SpecMapping.Model(spec);
        Assert.Equal(8, model.LogitFactor);
        Assert.Equal(0.5, model.DecoderTruncation);
        model.Validate();
    }
}
