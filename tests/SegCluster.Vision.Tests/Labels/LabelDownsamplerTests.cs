using SegCluster.Vision.Data;
using SegCluster.Vision.Labels;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Labels;

public class LabelDownsamplerTests
{
    // 4×4 hand case, factor 2: cells TL = {0,0,0,1}, TR = {1,1,2,2}, BL = {255 ×4}, BR = {2,255,255,255}.
    private static Tensor Hand() => tensor(new long[]
    {
        0, 0, 1, 1,
        0, 1, 2, 2,
        255, 255, 2, 255,
        255, 255, 255, 255,
    }, [1, 4, 4]);

    private static long[] Values(Tensor t) => t.flatten().data<long>().ToArray();

    [Fact]
    public void NearestTakesTheCentrePixelOfEachCell()
    {
        using var scope = NewDisposeScope();
        Assert.Equal([1L, 2, 255, 255], Values(NearestLabelDownsampler.Downsample(Hand(), 2)));  // pixels (1, 1), (1, 3), (3, 1), (3, 3)
    }

    /// <summary>PAPERS.md §3's baseline as the paper runs it (PIL NEAREST, PyTorch "nearest-exact"): source index
    /// ⌊(i + 0.5)·f⌋, the centre of each f×f cell, not its top-left pixel ⌊i·f⌋. 8×8 labels 8·y + x, all distinct.</summary>
    [Theory]
    [InlineData(2, new long[] { 1, 3, 5, 7 })]
    [InlineData(4, new long[] { 2, 6 })]
    [InlineData(8, new long[] { 4 })]
    public void NearestSamplesTheCellCentresAtIndexIFPlusHalfF(int factor, long[] sampled)
    {
        using var scope = NewDisposeScope();
        var labels = arange(64L, ScalarType.Int64).view(1, 8, 8);
        var expected = sampled.SelectMany(y => sampled.Select(x => 8 * y + x)).ToArray();
        Assert.Equal(expected, Values(NearestLabelDownsampler.Downsample(labels, factor)));
        var side = 8 / factor;
        Assert.Equal(expected, Values(NearestLabelDownsampler.Resize(labels, side, side)));  // the same pixels at any size
    }

    /// <summary>A side f does not divide: the last, partial cell's centre (index 6 at f = 4 on 5 pixels) is clamped into
    /// the image (index 4); a size that is not a factor samples ⌊(i + 0.5)·H/h⌋ (8 → 3: 1, 4, 6).</summary>
    [Fact]
    public void NearestClampsThePartialCellIntoTheImageAndResizesToAnySize()
    {
        using var scope = NewDisposeScope();
        var five = arange(25L, ScalarType.Int64).view(1, 5, 5);
        Assert.Equal([12L, 14, 22, 24], Values(NearestLabelDownsampler.Downsample(five, 4)));  // rows and columns 2 and 4
        Assert.Equal([1L, 4, 6], NearestLabelDownsampler.SourceIndices(8, 3, 8.0 / 3));
        var eight = arange(64L, ScalarType.Int64).view(1, 8, 8);
        Assert.Equal([9L, 12, 14, 33, 36, 38, 49, 52, 54], Values(NearestLabelDownsampler.Resize(eight, 3, 3)));
    }

    /// <summary>Every factor and size samples exactly the pixels <see cref="NearestLabelDownsampler.SourceIndices"/>
    /// names (the sampler takes evenly spaced centres as strided views, a clamped last cell and other spacings by index),
    /// on sides f divides and sides it does not, down-sizing and up-sizing.</summary>
    [Fact]
    public void NearestSamplesExactlyTheSourceIndicesAtEveryFactorAndSize()
    {
        using var scope = NewDisposeScope();
        foreach (var (h, w) in new[] { (1, 1), (5, 7), (8, 8), (13, 6), (17, 32) })
        {
            var labels = arange((long)h * w, ScalarType.Int64).view(1, h, w);
            long[] Reference(long height, long width, double rowScale, double columnScale)
            {
                var rows = NearestLabelDownsampler.SourceIndices(h, height, rowScale);
                var columns = NearestLabelDownsampler.SourceIndices(w, width, columnScale);
                return rows.SelectMany(y => columns.Select(x => w * y + x)).ToArray();
            }
            foreach (var f in new[] { 1, 2, 3, 4, 8, 16 })
            {
                long height = (h + f - 1) / f, width = (w + f - 1) / f;
                Assert.Equal(Reference(height, width, f, f), Values(NearestLabelDownsampler.Downsample(labels, f)));
            }
            foreach (var (height, width) in new[] { (1L, 1L), (3L, 2L), ((long)h, (long)w), (2L * h, w + 3L) })
                Assert.Equal(Reference(height, width, (double)h / height, (double)w / width), Values(NearestLabelDownsampler.Resize(labels, height, width)));
        }
    }

    [Fact]
    public void MajorityTakesTheModeOfValidPixelsAndIgnoresEmptyCells()
    {
        using var scope = NewDisposeScope();
        // TR is a 2–2 tie between classes 1 and 2: the lowest id wins.
        Assert.Equal([0L, 1, 255, 2], Values(MajorityLabelDownsampler.Downsample(Hand(), 3, 2)));
    }

    /// <summary>The authors' soft labels (vpulab/soft-labels-SS <c>resize_oh</c>: ignore is an extra class, dropped after
    /// pooling): each cell keeps its raw class area fractions, so BR, one valid pixel of class 2 among three ignore
    /// pixels, is 0.25 of class 2 and weighs 0.25 in a loss normalised by the soft mass.</summary>
    [Fact]
    public void SoftLabelsAreRawAreaFractionsByDefaultSoAPartlyIgnoredCellKeepsItsValidShare()
    {
        using var scope = NewDisposeScope();
        var soft = new SoftLabelDownsampler(3).Downsample(Hand(), 2);  // (1, 3, 2, 2)
        Assert.Equal([1L, 3, 2, 2], soft.shape);
        var v = soft.flatten().data<float>().ToArray();
        // class-major: [k][y][x]
        Assert.Equal([0.75f, 0f, 0f, 0f], v[0..4]);
        Assert.Equal([0.25f, 0.5f, 0f, 0f], v[4..8]);
        Assert.Equal([0f, 0.5f, 0f, 0.25f], v[8..12]);
        Assert.Equal([1f, 1f, 0f, 0.25f], soft.sum(1).flatten().data<float>().ToArray());  // each cell's valid share
    }

    [Fact]
    public void RenormalizedSoftLabelsAreProportionsOfTheValidMassAndEmptyCellsStayZero()
    {
        using var scope = NewDisposeScope();
        var soft = new SoftLabelDownsampler(3, new SoftLabelOptions(Renormalize: true)).Downsample(Hand(), 2);
        var v = soft.flatten().data<float>().ToArray();
        Assert.Equal([0.75f, 0f, 0f, 0f], v[0..4]);
        Assert.Equal([0.25f, 0.5f, 0f, 0f], v[4..8]);
        Assert.Equal([0f, 0.5f, 0f, 1f], v[8..12]);  // BR: its one valid pixel is the whole of its mass
    }

    [Fact]
    public void SoftThresholdIgnoresCellsWithTooLittleValidMass()
    {
        using var scope = NewDisposeScope();
        var soft = new SoftLabelDownsampler(3, new SoftLabelOptions(MinValidFraction: 0.5)).Downsample(Hand(), 2);
        Assert.Equal([1f, 1f, 0f, 0f], soft.sum(1).flatten().data<float>().ToArray());  // BR has 1/4 valid
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void SoftRowsSumToTheValidShareOrToOneRenormalizedAndPreserveClassAreaWhenTheFactorDivides(int factor)
    {
        using var scope = NewDisposeScope();
        var dataset = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 5, Height: 32, Width: 48, Count: 2));
        using var batch = TestData.Batch(dataset, [0, 1]);
        Assert.True(batch.Labels.eq(255).any().item<bool>());  // the case has ignore pixels
        var validShare = nn.functional.avg_pool2d(batch.Labels.ne(255).to(ScalarType.Float32).unsqueeze(1), factor, factor).squeeze(1);
        var rows = new SoftLabelDownsampler(5).Downsample(batch.Labels, factor).sum(1);  // (2, H/f, W/f)
        Assert.True(rows.sub(validShare).abs().max().item<float>() < 1e-5f);
        var renormalized = new SoftLabelDownsampler(5, new SoftLabelOptions(Renormalize: true)).Downsample(batch.Labels, factor).sum(1);
        var expectedRows = validShare.gt(0).to(ScalarType.Float32);
        Assert.True(renormalized.sub(expectedRows).abs().max().item<float>() < 1e-5f);  // 1 on valid cells, 0 on empty ones

        // Without ignore pixels the soft labels keep each class's area exactly.
        var dense = batch.Labels.masked_fill(batch.Labels.eq(255), 0);
        var area = new SoftLabelDownsampler(5).Downsample(dense, factor).sum([0, 2, 3]) * (factor * factor);
        var exact = nn.functional.one_hot(dense, 5).sum([0, 1, 2]).to(ScalarType.Float32);
        Assert.True(area.sub(exact).abs().max().item<float>() < 1e-2f);
    }

    [Fact]
    public void FactorOneChangesNothing()
    {
        using var scope = NewDisposeScope();
        var labels = Hand();
        Assert.Equal(Values(labels), Values(NearestLabelDownsampler.Downsample(labels, 1)));
        Assert.Equal(Values(labels), Values(MajorityLabelDownsampler.Downsample(labels, 3, 1)));
        var soft = new SoftLabelDownsampler(3).Downsample(labels, 1);
        Assert.Equal(Values(labels), Values(MajorityLabelDownsampler.FromFractions(soft, 255)));
    }

    [Fact]
    public void NonDividingFactorPadsWithIgnore()
    {
        using var scope = NewDisposeScope();
        var labels = full([1, 5, 5], 1L);
        Assert.Equal([1L, 2, 2], MajorityLabelDownsampler.Downsample(labels, 2, 4).shape);
        // The padding is ignore: an edge cell keeps the share of it the image covers (4 of 16 pixels, 1 of 16 in the corner).
        var soft = new SoftLabelDownsampler(2).Downsample(labels, 4);
        Assert.Equal([0f, 0f, 0f, 0f, 1f, 0.25f, 0.25f, 0.0625f], soft.flatten().data<float>().ToArray());
        var renormalized = new SoftLabelDownsampler(2, new SoftLabelOptions(Renormalize: true)).Downsample(labels, 4);
        Assert.Equal([0f, 0f, 0f, 0f, 1f, 1f, 1f, 1f], renormalized.flatten().data<float>().ToArray());
    }

    [Fact]
    public void BlockAnnotationIgnoresImpureBlocksAndReportsCostSaved()
    {
        using var scope = NewDisposeScope();
        var plain = new BlockAnnotator(3, 2).Annotate(Hand());
        Assert.Equal([0L, 1, 255, 2], Values(plain.Labels));
        Assert.Equal(1 - 4.0 / 16, plain.CostSaved, 9);
        Assert.Equal(plain.CostSaved, BlockAnnotator.CostSaved(4, 4, 2), 12);  // what spectral-sweep reports per block trial
        Assert.Equal(1 - 9.0 / 25, BlockAnnotator.CostSaved(5, 5, 2), 12);     // partial blocks at the edges count as blocks
        Assert.Equal(0, BlockAnnotator.CostSaved(7, 3, 1), 12);
        var strict = new BlockAnnotator(3, 2, minPurity: 0.8).Annotate(Hand());
        Assert.Equal([255L, 255, 255, 2], Values(strict.Labels));  // TL 3/4 and TR 1/2 are not pure enough
        Assert.Equal(3, strict.IgnoredBlocks);
    }
}
