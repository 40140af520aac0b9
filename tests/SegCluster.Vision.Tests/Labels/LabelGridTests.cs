using SegCluster.Vision.Labels;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Labels;

/// <summary>LabelGrid.ClassFractions (scatter-add counts) against its definition: the box filter of the masked one-hot map.</summary>
public class LabelGridTests
{
    private const int Ignore = 255;

    [Theory]
    [InlineData(1, 7, 9)]
    [InlineData(2, 8, 8)]
    [InlineData(4, 13, 10)]   // sides not divisible by f: the padded cells carry no mass
    [InlineData(3, 9, 11)]
    public void Fractions_are_the_box_filter_of_the_one_hot_map(int factor, int height, int width)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(factor);
        const int classes = 5;
        var labels = randint(0, classes, [3, height, width], dtype: ScalarType.Int64);
        labels = labels.masked_fill(rand(3, height, width).lt(0.2), Ignore).to(ScalarType.Byte);

        var fractions = LabelGrid.ClassFractions(labels, classes, factor, Ignore);

        Assert.True(fractions.allclose(Reference(labels, classes, factor), rtol: 0, atol: 1e-7));
        Assert.Equal(new[] { 3L, classes, LabelGrid.CoarseSize(height, factor), LabelGrid.CoarseSize(width, factor) }, fractions.shape);
    }

    [Fact]
    public void A_label_outside_the_classes_is_refused_by_name()
    {
        using var scope = NewDisposeScope();
        var labels = zeros(1, 4, 4, ScalarType.Byte);
        labels[0, 1, 2] = tensor(7, ScalarType.Byte);
        var error = Assert.Throws<ArgumentException>(() => LabelGrid.ClassFractions(labels, 5, 2, Ignore));
        Assert.Contains("outside [0, 5)", error.Message);
    }

    /// <summary>The definition: one-hot (B, K, H, W) with ignore rows zero, zero-padded to whole cells, average-pooled by f.</summary>
    private static Tensor Reference(Tensor labels, int classes, int factor)
    {
        var l = labels.to(ScalarType.Int64);
        var valid = l.ne(Ignore);
        var oneHot = nn.functional.one_hot(l.masked_fill(valid.logical_not(), 0), classes).permute(0, 3, 1, 2).to(ScalarType.Float32)
                     * valid.unsqueeze(1).to(ScalarType.Float32);
        long h = labels.shape[1], w = labels.shape[2];
        oneHot = nn.functional.pad(oneHot, [0, LabelGrid.CoarseSize(w, factor) * factor - w, 0, LabelGrid.CoarseSize(h, factor) * factor - h]);
        return nn.functional.avg_pool2d(oneHot, factor, factor);
    }
}
