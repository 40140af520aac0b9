using SegCluster.Vision.Data;
using SegCluster.Vision.Spectral;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Spectral;

public class LabelSpectrumTests
{
    [Fact]
    public void ParsevalHoldsOnSyntheticLabelsWithIgnorePixels()
    {
        var dataset = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 5, Height: 32, Width: 48, Count: 3));
        using var batch = TestData.Batch(dataset, [0, 1, 2]);
        using var spectrum = new LabelSpectrum(5, 32, 48);
        spectrum.Add(batch.Labels);
        Assert.True(spectrum.ParsevalRelativeError() < 1e-9);
        Assert.Equal(3, spectrum.Images);
    }

    [Fact]
    public void AConstantMapHasAllItsEnergyAtFrequencyZero()
    {
        using var scope = NewDisposeScope();
        using var spectrum = new LabelSpectrum(2, 16, 16);
        spectrum.Add(full([2, 16, 16], 1L));
        Assert.Equal(2 * 256.0, spectrum.EnergyAt(1, 0, 0), 6);
        Assert.Equal(0, spectrum.SpectralEnergy()[0], 9);
        var bands = spectrum.CumulativeEnergy(4);
        Assert.Equal(1.0, bands[1, 0], 9);
        Assert.All(spectrum.RetainedEnergy(8)[..2], v => Assert.Equal(1.0, v, 9));
    }

    [Fact]
    public void ACheckerboardPutsHalfItsEnergyAtNyquist()
    {
        using var scope = NewDisposeScope();
        var y = arange(8).unsqueeze(1);
        var x = arange(8).unsqueeze(0);
        var board = (y + x).remainder(2).unsqueeze(0);  // (1, 8, 8) classes 0/1
        using var spectrum = new LabelSpectrum(2, 8, 8);
        spectrum.Add(board);
        // Y_1 = ½ − ½(−1)^(x+y): energy 16 at DC and 16 at (4, 4), none elsewhere.
        Assert.Equal(16, spectrum.EnergyAt(1, 0, 0), 6);
        Assert.Equal(16, spectrum.EnergyAt(1, 4, 4), 6);
        Assert.Equal(0.5, spectrum.RetainedEnergy(2)[1], 9);
        var radial = spectrum.RadialBands(2);
        Assert.Equal(16, radial[1, 1], 6);   // r = 1 (Nyquist corner) is the last band
    }

    [Fact]
    public void EnergyAndOracleMIoUNeverIncreaseWithTheFactorAndTheAdviceIsConsistent()
    {
        var dataset = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 6, Height: 64, Width: 64, Count: 8));
        using var advisor = new GridAdvisor(6, 64, 64);
        for (int i = 0; i < 8; i += 4)
        {
            using var batch = TestData.Batch(dataset, Enumerable.Range(i, 4));
            advisor.Add(batch.Labels);
        }
        var advice = advisor.Advise();
        Assert.Equal([1, 2, 4, 8, 16, 32], advice.Factors.Select(r => r.Factor));
        Assert.Equal(1.0, advice.Factors[0].EnergyRetained, 9);
        Assert.Equal(1.0, advice.Factors[0].OracleMIoUNearest, 9);
        Assert.Equal(1.0, advice.Factors[0].OracleMIoUSoft, 9);
        Assert.Equal(advice.Factors[0].CrossEntropyFull, advice.Factors[0].CrossEntropyNearest, 4);
        for (int i = 1; i < advice.Factors.Count; i++)
        {
            Assert.True(advice.Factors[i].EnergyRetained <= advice.Factors[i - 1].EnergyRetained + 1e-12);
            Assert.True(advice.Factors[i].OracleMIoUNearest <= advice.Factors[i - 1].OracleMIoUNearest + 1e-12);
            Assert.True(advice.Factors[i].OracleMIoUSoft <= advice.Factors[i - 1].OracleMIoUSoft + 1e-12);
        }
        var chosen = advice.Factors.Single(r => r.Factor == advice.RecommendedFactor);
        Assert.True(chosen.EnergyRetained >= 0.95 && 1 - chosen.OracleMIoUSoft <= 0.01);
        Assert.All(advice.Factors.Where(r => r.Factor > advice.RecommendedFactor),
            r => Assert.True(r.EnergyRetained < 0.95 || 1 - r.OracleMIoUSoft > 0.01));
        Assert.True(advice.ParsevalRelativeError < 1e-9);
    }

    /// <summary>Where the coarse grid has no label the oracle predicts nothing: a 4×4 map of class 1 whose pixels (1, 1) and
    /// (2, 2) are ignore (the centres nearest samples at f = 2 in the top-left cell, and at f = 4) loses the 3 other pixels
    /// of the top-left 2×2 cell at f = 2 (IoU 11/14), and class 0, in neither labels nor oracle, is not scored (it was, at
    /// IoU 0, when the oracle filled such cells with class 0).</summary>
    [Fact]
    public void AnUnlabelledCoarseCellIsAMissNotAPredictionOfClassZero()
    {
        var map = Enumerable.Repeat(1L, 16).ToArray();
        map[5] = 255;
        map[10] = 255;
        using var labels = tensor(map).reshape(1, 4, 4);
        using var advisor = new GridAdvisor(2, 4, 4);
        advisor.Add(labels);
        var atTwo = advisor.Advise().Factors.Single(r => r.Factor == 2);
        var atFour = advisor.Advise().Factors.Single(r => r.Factor == 4);

        Assert.Equal(11.0 / 14, atTwo.OracleMIoUNearest, 9);
        Assert.Equal(0.0, atFour.OracleMIoUNearest, 9);  // the one cell samples the ignore pixel (2, 2): all 14 missed
        Assert.Equal(1.0, atFour.OracleMIoUSoft, 9);     // soft: the valid mass of the cell is all class 1
    }

    [Fact]
    public void OnlyFactorsDividingTheSizeAreEvaluated()
    {
        using var advisor = new GridAdvisor(3, 48, 80);
        Assert.Equal([1, 2, 4, 8, 16], advisor.Factors);
    }
}
