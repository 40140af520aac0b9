using SegCluster.Vision.Data;
using SegCluster.Vision.Spectral;

namespace SegCluster.Vision.Tests.Spectral;

/// <summary>The advisor's statistics of disjoint parts merge into those of the whole (PAPERS.md §2: every figure is a sum).</summary>
public class SpectralStatisticsTests
{
    private static readonly SyntheticSceneDataset Dataset = new(new SyntheticSceneOptions(NumClasses: 5, Height: 32, Width: 32, Count: 12, Seed: 4));

    private static SpectralStatistics Analyse(IEnumerable<int> indices, int batchSize = 4)
    {
        using var advisor = new GridAdvisor(5, 32, 32);
        foreach (var chunk in indices.Chunk(batchSize))
        {
            using var batch = TestData.Batch(Dataset, chunk);
            advisor.Add(batch.Labels);
        }
        return advisor.Statistics();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Strided_parts_merge_into_the_whole(int parts)
    {
        var whole = Analyse(Enumerable.Range(0, 12));
        var merged = SpectralStatistics.Sum(Enumerable.Range(0, parts).Select(p => Analyse(Enumerable.Range(0, 12).Where(i => i % parts == p))));

        // Counts exact; energies and CE sums differ only by summation order (float64 FFT energies; CE summed per batch in float32).
        Assert.Empty(merged.Differences(whole, relativeTolerance: 1e-6));
        Assert.Equal(12, merged.Images);
        var (a, b) = (merged.Advise(new GridAdvisorOptions()), whole.Advise(new GridAdvisorOptions()));
        Assert.Equal(b.RecommendedFactor, a.RecommendedFactor);
        Assert.Equal(b.Factors.Select(f => f.OracleMIoUSoft), a.Factors.Select(f => f.OracleMIoUSoft));
    }

    /// <summary>§2: a cumulative energy curve per class and for the dataset; the dataset's is the energy-weighted mean of
    /// the class curves and ends at 1.</summary>
    [Fact]
    public void The_dataset_curve_is_the_energy_weighted_mean_of_the_class_curves()
    {
        var statistics = Analyse(Enumerable.Range(0, 8));
        var advice = statistics.Advise(new GridAdvisorOptions());
        double total = statistics.SpectralEnergy.Sum();
        for (int b = 0; b < statistics.Bands; b++)
        {
            var weighted = Enumerable.Range(0, 5).Sum(c => statistics.SpectralEnergy[c] / total * advice.CumulativeEnergy[c][b]);
            Assert.Equal(weighted, advice.DatasetCumulativeEnergy[b], 12);
        }
        Assert.Equal(1.0, advice.DatasetCumulativeEnergy[^1], 9);
        Assert.True(advice.DatasetCumulativeEnergy.Zip(advice.DatasetCumulativeEnergy.Skip(1)).All(p => p.Second >= p.First), "not cumulative");
    }

    [Fact]
    public void The_advice_from_the_statistics_is_the_advisors()
    {
        using var advisor = new GridAdvisor(5, 32, 32);
        using (var batch = TestData.Batch(Dataset, Enumerable.Range(0, 6))) advisor.Add(batch.Labels);
        var direct = advisor.Advise();
        var retained = advisor.Spectrum.RetainedEnergy(4);
        var viaStatistics = SpectralStatistics.FromJson(advisor.Statistics().ToJson()).Advise(advisor.Options);

        Assert.Equal(retained[^1], viaStatistics.Factors.Single(f => f.Factor == 4).EnergyRetained, 12);
        Assert.Equal(direct.Factors, viaStatistics.Factors);  // the JSON round trip is exact
        Assert.Equal(direct.RecommendedFactor, viaStatistics.RecommendedFactor);
    }

    [Fact]
    public void A_count_off_by_one_pixel_is_reported_and_other_shapes_do_not_merge()
    {
        var whole = Analyse(Enumerable.Range(0, 4));
        var changed = SpectralStatistics.FromJson(whole.ToJson());
        changed.SoftConfusion[7]++;
        Assert.Contains(changed.Differences(whole, 1e-6), d => d.StartsWith("SoftConfusion[7]"));

        using var other = new GridAdvisor(5, 16, 16);
        var error = Assert.Throws<ArgumentException>(() => whole.Merge(other.Statistics()));
        Assert.Contains("16x16", error.Message);
    }
}
