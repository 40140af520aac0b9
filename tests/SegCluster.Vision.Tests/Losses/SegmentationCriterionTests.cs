using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Losses;

public class SegmentationCriterionTests
{
    [Fact]
    public void FinalTermIsTheMeanCrossEntropyOverNonIgnorePixels()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var logits = randn(2, 4, 8, 8);
        var labels = randint(0, 4, [2, 8, 8], dtype: ScalarType.Int64);
        labels[0, 0] = tensor(255L);  // one ignored row of 8 pixels
        var loss = new SegmentationCriterion(new LossOptions()).Forward(new SegmentationOutput(logits, []), labels);
        var expected = nn.functional.cross_entropy(logits, labels, ignore_index: 255);  // PyTorch's mean over valid pixels
        Assert.Equal(expected.item<float>(), loss.item<float>(), 5);
    }

    /// <summary>§1: the final term's weight is a spec option (default 1); every label grid's final term takes it, the
    /// auxiliaries keep theirs.</summary>
    [Theory]
    [InlineData(LabelMode.Full)]
    [InlineData(LabelMode.Nearest)]
    [InlineData(LabelMode.SoftCrossEntropy)]
    public void TheFinalTermCarriesTheFinalWeight(LabelMode mode)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var output = new SegmentationOutput(randn(1, 3, 8, 8), [randn(1, 3, 4, 4)]);
        var labels = randint(0, 3, [1, 8, 8], dtype: ScalarType.Int64);
        var grid = new LabelOptions(mode, mode == LabelMode.Full ? 1 : 2);
        var plain = new SegmentationCriterion(new LossOptions(Labels: grid));
        var doubled = new SegmentationCriterion(new LossOptions(Labels: grid, FinalWeight: 2));
        Assert.Equal([2.0, 0.4], doubled.Terms(output, labels).Weights);
        var final = plain.Forward(output with { Auxiliary = [] }, labels).item<float>();
        var auxiliary = plain.Forward(output, labels).item<float>() - final;
        Assert.Equal(2 * final + auxiliary, doubled.Forward(output, labels).item<float>(), 4);
        Assert.Throws<ArgumentException>(() => new LossOptions(FinalWeight: 0).Validate());
    }

    [Fact]
    public void AuxiliaryTermUsesNearestDownsampledLabelsAtItsOwnGridWithItsWeight()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var logits = randn(1, 3, 8, 8);
        var aux = randn(1, 3, 4, 4);
        var labels = randint(0, 3, [1, 8, 8], dtype: ScalarType.Int64);
        labels[0, 3] = tensor(255L);
        var criterion = new SegmentationCriterion(new LossOptions(AuxiliaryWeight: 0.4));
        var terms = criterion.Terms(new SegmentationOutput(logits, [aux]), labels);
        Assert.Equal(2, terms.Count);
        Assert.Equal(56, terms.ReadCounts()[0]);
        Assert.Equal(12, terms.ReadCounts()[1]);  // labels row 3 is auxiliary row 1 (nearest takes each 2×2 cell's centre: odd rows)
        Assert.Equal([1.0, 0.4], terms.Weights);

        var down = labels[.., TensorIndex.Slice(1, null, 2), TensorIndex.Slice(1, null, 2)];  // (1, 4, 4)
        Assert.Equal(down.flatten().data<long>().ToArray(), NearestLabelDownsampler.Resize(labels, 4, 4).flatten().data<long>().ToArray());
        using (var same = NearestLabelDownsampler.Resize(labels, 8, 8))  // at the labels' size: the caller's to dispose
            Assert.Equal(labels.flatten().data<long>().ToArray(), same.flatten().data<long>().ToArray());
        Assert.False(labels.IsInvalid);  // disposing the result left the labels alive
        var expected = nn.functional.cross_entropy(logits, labels, ignore_index: 255)
                       + 0.4 * nn.functional.cross_entropy(aux, down, ignore_index: 255);
        var loss = criterion.Forward(new SegmentationOutput(logits, [aux]), labels);
        Assert.Equal(expected.item<float>(), loss.item<float>(), 5);
    }

    /// <summary>One readback (<see cref="LossTerms.Read"/>, the trainer's per micro-batch) gives every term's count and sum
    /// as a read per term does: soft masses fractional and exact in float64, sums their float32 values.</summary>
    [Fact]
    public void OneReadbackGivesEveryTermsCountAndSum()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(8);
        var output = new SegmentationOutput(randn(2, 3, 8, 8), [randn(2, 3, 4, 4)]);
        var labels = randint(0, 3, [2, 8, 8], dtype: ScalarType.Int64);
        labels[0, 0, TensorIndex.Slice(0, 3)] = tensor(255L);  // 3 ignored pixels: 3 cells of 2×2 keep 3/4 of their mass
        var terms = new SegmentationCriterion(new LossOptions(Labels: new LabelOptions(LabelMode.SoftCrossEntropy, 2))).Terms(output, labels);
        var (counts, sums) = terms.Read();
        Assert.Equal(terms.Counts.Select(c => c.item<double>()), counts);
        Assert.Equal(terms.Sums.Select(s => (double)s.item<float>()), sums);
        Assert.Equal(2 * 16 - 3 / 4.0, counts[0]);
        Assert.Equal(counts, terms.ReadCounts());
    }
}
