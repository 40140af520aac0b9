using System.Diagnostics;
using SegCluster.Vision.Data;

namespace SegCluster.Vision.Tests.Data;

public class SyntheticSceneDatasetTests
{
    private static SyntheticSceneDataset Dataset(int seed = 0, int classes = 6, int h = 64, int w = 64, int count = 64) =>
        new(new SyntheticSceneOptions(classes, h, w, count, seed));

    [Fact]
    public void SameSeedAndIndexGiveIdenticalSamplesEvenFromAnotherInstanceAndOrder()
    {
        var a = Dataset(seed: 7);
        var b = Dataset(seed: 7);
        var late = a.Get(5);
        _ = b.Get(3);
        var early = b.Get(5);
        Assert.Equal(late.Image, early.Image);
        Assert.Equal(late.Label, early.Label);
    }

    [Fact]
    public void DifferentSeedsAndIndicesDiffer()
    {
        Assert.NotEqual(Dataset(seed: 0).Get(0).Image, Dataset(seed: 1).Get(0).Image);
        Assert.NotEqual(Dataset(seed: 0).Get(0).Label, Dataset(seed: 0).Get(1).Label);
    }

    [Fact]
    public void ConcurrentReadsMatchSequentialReads()
    {
        var d = Dataset(count: 32);
        var sequential = Enumerable.Range(0, 32).Select(i => d.Get(i).Label).ToArray();
        var parallel = new byte[32][];
        Parallel.For(0, 32, i => parallel[i] = d.Get(i).Label);
        Assert.Equal(sequential, parallel);
    }

    [Fact]
    public void LabelsAreClassesOrIgnoreAndEveryClassAppearsWithARareOneAndIgnorePixels()
    {
        var d = Dataset(count: 48);
        var pixels = new long[256];
        var images = new int[256];
        for (int i = 0; i < d.Count; i++)
        {
            var s = d.Get(i);
            Assert.Equal(3 * 64 * 64, s.Image.Length);
            Assert.Equal(64 * 64, s.Label.Length);
            foreach (var l in s.Label) pixels[l]++;
            foreach (var l in s.Label.Distinct()) images[l]++;
        }
        for (int v = d.NumClasses; v < 255; v++) Assert.Equal(0, pixels[v]);
        for (int c = 0; c < d.NumClasses; c++) Assert.True(pixels[c] > 0, $"class {c} never appears");
        Assert.True(pixels[255] > 0, "no ignore pixels");

        // The rare class covers several times fewer pixels than the rarest common foreground class.
        int rare = d.RareClass;
        long rarestCommon = Enumerable.Range(1, d.NumClasses - 2).Min(c => pixels[c]);
        Assert.True(pixels[rare] * 4 < rarestCommon, $"rare class {rare}: {pixels[rare]} px vs {rarestCommon} px for the rarest common class");
        Assert.True(images[rare] * 2 < images[1], $"rare class in {images[rare]} images vs class 1 in {images[1]}");
        Assert.Equal(d.NumClasses, d.ClassNames.Count);
        Assert.Equal("background", d.ClassNames[0]);
    }

    [Fact]
    public void ImagesAreRoughlyStandardised()
    {
        var d = Dataset(count: 64);
        double sum = 0, sumSq = 0;
        long n = 0;
        for (int i = 0; i < d.Count; i++)
            foreach (var v in d.Get(i).Image) { sum += v; sumSq += v * v; n++; }
        double mean = sum / n, std = Math.Sqrt(sumSq / n - mean * mean);
        Assert.InRange(mean, -0.3, 0.3);
        Assert.InRange(std, 0.7, 1.3);
    }

    [Theory]
    [InlineData(32, 48)]
    [InlineData(128, 64)]
    [InlineData(16, 16)]
    public void ArbitraryValidSizes(int h, int w)
    {
        var s = Dataset(h: h, w: w, count: 2).Get(1);
        Assert.Equal((h, w), (s.Height, s.Width));
        Assert.Equal(3 * h * w, s.Image.Length);
        Assert.Equal(h * w, s.Label.Length);
        Assert.All(s.Image, v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData(1, 64, 64, 1, "NumClasses")]
    [InlineData(33, 64, 64, 1, "NumClasses")]
    [InlineData(6, 30, 64, 1, "Height")]
    [InlineData(6, 64, 30, 1, "Width")]
    [InlineData(6, 8, 64, 1, "Height")]
    [InlineData(6, 64, 64, 0, "Count")]
    public void ValidationNamesTheField(int classes, int h, int w, int count, string field)
    {
        var error = Assert.Throws<ArgumentException>(() => new SyntheticSceneOptions(classes, h, w, count).Validate());
        Assert.Equal(field, error.ParamName);
        Assert.Contains(field, error.Message);
    }

    [Fact]
    public void SizeErrorSuggestsTheNearestValidSize()
    {
        var error = Assert.Throws<ArgumentException>(() => new SyntheticSceneDataset(new SyntheticSceneOptions(Height: 30, Width: 30)));
        Assert.Contains("divisible by 16", error.Message);
        Assert.Contains("nearest valid size is 32", error.Message);
    }
}
