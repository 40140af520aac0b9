using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Losses;

public class LabelModeCriterionTests
{
    private static (Tensor Logits, Tensor Labels) Case()
    {
        random.manual_seed(8);
        var logits = randn(2, 3, 8, 8);
        var labels = randint(0, 3, [2, 8, 8], dtype: ScalarType.Int64);
        labels[0, 0] = tensor(255L);
        return (logits, labels);
    }

    private static SegmentationCriterion Criterion(LabelMode mode, int factor) => new(new LossOptions(Labels: new LabelOptions(mode, factor)));

    [Fact]
    public void SoftModesComputeTheFinalTermOnTheCoarseGridWithAreaPooledLogits()
    {
        using var scope = NewDisposeScope();
        var (logits, labels) = Case();
        var pooled = nn.functional.avg_pool2d(logits, 4, 4);                  // (2, 3, 2, 2)
        var soft = new SoftLabelDownsampler(3).Downsample(labels, 4);
        var terms = Criterion(LabelMode.SoftCrossEntropy, 4).Terms(new SegmentationOutput(logits, []), labels);
        Assert.Equal(7.5, terms.ReadCounts()[0], 6);  // 8 cells; the ignored row 0 of image 0 takes 4 of 16 pixels from 2 of them
        var expected = SoftCrossEntropyLoss.Forward(pooled, soft).item<float>();
        Assert.Equal(expected, Criterion(LabelMode.SoftCrossEntropy, 4).Forward(new SegmentationOutput(logits, []), labels).item<float>(), 5);
        Assert.Equal(SoftKlLoss.Forward(pooled, soft).item<float>(),
            Criterion(LabelMode.SoftKl, 4).Forward(new SegmentationOutput(logits, []), labels).item<float>(), 5);
    }

    /// <summary>
    /// PAPERS.md §3 with the authors' code: the soft term is −Σ Ỹ log S / Σ Ỹ over raw area fractions, so a cell partly
    /// covered by ignore pixels weighs its valid share and the mass is fractional (here 2.25: it was rounded to a whole
    /// count, and each partly ignored cell renormalised to weigh 1). The 4×4 hand case at f = 2, logits on the label grid:
    /// TL {0, 0, 0, 1}, TR {1, 1, 2, 2}, BL all ignore, BR {2, ignore ×3}.
    /// </summary>
    [Fact]
    public void SoftTermIsTheSoftCrossEntropyOverTheFractionalSoftMass()
    {
        using var scope = NewDisposeScope();
        var labels = tensor(new long[] { 0, 0, 1, 1, 0, 1, 2, 2, 255, 255, 2, 255, 255, 255, 255, 255 }, [1, 4, 4]);
        var values = new float[] { 0.3f, -1.2f, 2.0f, 0.1f, 1.5f, 0.4f, -0.7f, 0.9f, -0.5f, 1.1f, 0.2f, -2.0f };  // [k][y][x]
        var logits = tensor(values, [1, 3, 2, 2]);
        double[][] target = [[0.75, 0.25, 0], [0, 0.5, 0.5], [0, 0, 0], [0, 0, 0.25]];  // per cell (TL, TR, BL, BR), per class
        double sum = 0, mass = 0;
        for (int cell = 0; cell < 4; cell++)
        {
            var z = Enumerable.Range(0, 3).Select(k => (double)values[4 * k + cell]).ToArray();
            var logNorm = Math.Log(z.Sum(Math.Exp));
            for (int k = 0; k < 3; k++) { sum -= target[cell][k] * (z[k] - logNorm); mass += target[cell][k]; }
        }
        Assert.Equal(2.25, mass, 12);
        var output = new SegmentationOutput(logits, []);
        var terms = Criterion(LabelMode.SoftCrossEntropy, 2).Terms(output, labels);
        Assert.Equal(2.25, terms.ReadCounts()[0], 6);
        Assert.Equal(sum, terms.Sums[0].item<float>(), 1e-5);
        Assert.Equal(sum / mass, Criterion(LabelMode.SoftCrossEntropy, 2).Forward(output, labels).item<float>(), 1e-5);

        // Renormalised (labels.renormalize): BR becomes class 2 with weight 1, and the mass counts the 3 valid cells.
        var renormalized = new SegmentationCriterion(new LossOptions(Labels: new LabelOptions(LabelMode.SoftCrossEntropy, 2, Renormalize: true)));
        Assert.Equal(3.0, renormalized.Terms(output, labels).ReadCounts()[0], 6);
    }

    [Fact]
    public void NearestAndBlockModesUseHardLabelsOnTheCoarseGrid()
    {
        using var scope = NewDisposeScope();
        var (logits, labels) = Case();
        var pooled = nn.functional.avg_pool2d(logits, 2, 2);
        var near = NearestLabelDownsampler.Downsample(labels, 2);
        Assert.Equal(nn.functional.cross_entropy(pooled, near, ignore_index: 255).item<float>(),
            Criterion(LabelMode.Nearest, 2).Forward(new SegmentationOutput(logits, []), labels).item<float>(), 5);
        var blocks = MajorityLabelDownsampler.Downsample(labels, 3, 2);
        Assert.Equal(nn.functional.cross_entropy(pooled, blocks, ignore_index: 255).item<float>(),
            Criterion(LabelMode.Block, 2).Forward(new SegmentationOutput(logits, []), labels).item<float>(), 5);
    }

    /// <summary>PAPERS.md §3's second baseline: majority mode pools each f×f cell to its most frequent valid class, for the
    /// final term and for an auxiliary at its own factor; on this case the mode differs from nearest's centre sample.</summary>
    [Fact]
    public void MajorityModeUsesModePooledLabelsForTheFinalTermAndAuxiliaries()
    {
        using var scope = NewDisposeScope();
        var (logits, labels) = Case();
        random.manual_seed(9);
        var aux = randn(2, 3, 2, 2);
        var pooled = nn.functional.avg_pool2d(logits, 2, 2);
        var majority = MajorityLabelDownsampler.Downsample(labels, 3, 2);
        Assert.True(majority.ne(NearestLabelDownsampler.Downsample(labels, 2)).any().item<bool>());

        var terms = Criterion(LabelMode.Majority, 2).Terms(new SegmentationOutput(logits, [aux]), labels);

        Assert.Equal(nn.functional.cross_entropy(pooled, majority, ignore_index: 255, reduction: nn.Reduction.Sum).item<float>(), terms.Sums[0].item<float>(), 4);
        Assert.Equal(majority.ne(tensor(255L)).sum().item<long>(), terms.ReadCounts()[0]);
        Assert.Equal(nn.functional.cross_entropy(aux, MajorityLabelDownsampler.Downsample(labels, 3, 4), ignore_index: 255, reduction: nn.Reduction.Sum).item<float>(),
            terms.Sums[1].item<float>(), 4);
    }

    [Fact]
    public void FullModeIsUnchangedAndInvalidOptionsNameTheField()
    {
        using var scope = NewDisposeScope();
        var (logits, labels) = Case();
        Assert.Equal(new SegmentationCriterion(new LossOptions()).Forward(new SegmentationOutput(logits, []), labels).item<float>(),
            Criterion(LabelMode.Full, 1).Forward(new SegmentationOutput(logits, []), labels).item<float>());
        var error = Assert.Throws<ArgumentException>(() => Criterion(LabelMode.Full, 4));
        Assert.Contains("Factor", error.Message);
        Assert.Throws<ArgumentException>(() => Criterion(LabelMode.Nearest, 3).Forward(new SegmentationOutput(logits, []), labels));
    }

    [Fact]
    public void ScribbleModeIsPartialCrossEntropyOnTheStrokes()
    {
        using var scope = NewDisposeScope();
        var dataset = new SegCluster.Vision.Data.SyntheticSceneDataset(new SegCluster.Vision.Data.SyntheticSceneOptions(NumClasses: 3, Height: 32, Width: 32, Count: 2));
        var synthesizer = new ScribbleSynthesizer(3, seed: 0);
        var samples = Enumerable.Range(0, 2).Select(dataset.Get).Select((s, i) => s with { Label = synthesizer.Draw(s.Label, 32, 32, i) }).ToList();
        using var batch = SegCluster.Vision.Data.SegmentationBatch.Collate(samples, CPU);
        random.manual_seed(4);
        var logits = randn(2, 3, 32, 32);
        var criterion = Criterion(LabelMode.Scribble, 1);
        var terms = criterion.Terms(new SegmentationOutput(logits, []), batch.Labels);
        long strokes = batch.Labels.ne(255).sum().item<long>();
        Assert.Equal(strokes, terms.ReadCounts()[0]);
        Assert.InRange(strokes, 1, batch.Labels.numel() / 4);                 // sparse
        Assert.Equal(nn.functional.cross_entropy(logits, batch.Labels, ignore_index: 255).item<float>(),
            criterion.Forward(new SegmentationOutput(logits, []), batch.Labels).item<float>(), 5);
        Assert.Throws<ArgumentException>(() => Criterion(LabelMode.Scribble, 2));  // strokes live on the full grid
    }

    /// <summary>
    /// An SPG auxiliary (here at 1/4 of the labels) is supervised as the final term is: a block run by its block labels
    /// only (changing a pixel that changes no block majority changes no term), a soft run by soft labels at the
    /// auxiliary's factor, a scribble run by every stroke (a one-pixel stroke off the nearest sampling grid still counts).
    /// </summary>
    [Fact]
    public void Auxiliary_terms_take_the_run_supervision_at_their_own_grid()
    {
        using var scope = NewDisposeScope();
        var (logits, labels) = Case();
        random.manual_seed(9);
        var aux = randn(2, 3, 2, 2);
        var output = new SegmentationOutput(logits, [aux]);

        // Block (b = 2): the top-left pixel of a 2×2 block whose other three pixels agree does not change the block label.
        labels[1, 6, 6] = tensor(0L); labels[1, 6, 7] = tensor(1L); labels[1, 7, 6] = tensor(1L); labels[1, 7, 7] = tensor(1L);
        var block = Criterion(LabelMode.Block, 2);
        var before = block.Terms(output, labels).Sums.Select(t => t.item<float>()).ToArray();
        var changed = labels.clone();
        changed[1, 6, 6] = tensor(2L);  // nearest at factor 4 samples exactly this pixel (the centre of the cell rows 4–7)
        Assert.Equal(before, block.Terms(output, changed).Sums.Select(t => t.item<float>()).ToArray());
        Assert.NotEqual(new SegmentationCriterion(new LossOptions()).Terms(output, labels).Sums[1].item<float>(),
            new SegmentationCriterion(new LossOptions()).Terms(output, changed).Sums[1].item<float>());  // a full run does see it

        // Soft: the auxiliary's term is soft CE against soft labels at factor 4.
        var soft = Criterion(LabelMode.SoftCrossEntropy, 2).Terms(output, labels);
        var (expected, mass) = SoftCrossEntropyLoss.Terms(aux, new SoftLabelDownsampler(3).Downsample(labels, 4));
        Assert.Equal(expected.item<float>(), soft.Sums[1].item<float>(), 5);
        Assert.Equal(mass.item<double>(), soft.ReadCounts()[1], 6);

        // Scribble: one stroke pixel at (1, 1), which nearest sampling at factor 4 (rows and columns 2 and 6) never sees.
        var strokes = full(2, 8, 8, 255L, ScalarType.Int64);
        strokes[0, 1, 1] = tensor(2L);
        var scribble = Criterion(LabelMode.Scribble, 1).Terms(output, strokes);
        Assert.Equal(1, scribble.ReadCounts()[1]);
        Assert.Equal(nn.functional.cross_entropy(aux[0, .., 0, 0].unsqueeze(0), tensor(new long[] { 2 }), reduction: nn.Reduction.Sum).item<float>(),
            scribble.Sums[1].item<float>(), 5);
    }
}
