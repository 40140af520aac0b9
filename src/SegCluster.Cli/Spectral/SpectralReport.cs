using SegCluster.Vision.Spectral;

namespace SegCluster.Cli.Spectral;

/// <summary>report.json of `segcluster spectral`: the advisor's figures, the recommended factor, and the shards merged.</summary>
public sealed record SpectralReport(
    string Dataset, int Images, int Height, int Width, IReadOnlyList<string> ClassNames,
    int RecommendedFactor, double MinEnergy, double MaxOracleMIoUDrop, double ParsevalRelativeError,
    IReadOnlyList<GridFactorReport> Factors, IReadOnlyList<double[]> ClassEnergyRetained, double[][] CumulativeEnergy,
    IReadOnlyList<SpectralShardSummary>? Shards = null, double[]? DatasetCumulativeEnergy = null);
