namespace SegCluster.Cli.Spectral;

/// <summary>spectral-sweep.json: the analysis (see <see cref="SpectralReport"/>), one row per trial, and per mode how well
/// the advisor's ranking of the label grids matched training's; <see cref="SpearmanRho"/> pools every mode's rows.</summary>
public sealed record SpectralSweepReport(
    string Sweep, string Dataset, int Images, int Shards, int RecommendedFactor, double? SpearmanRho,
    IReadOnlyList<SpectralSweepModeSummary> Modes, IReadOnlyList<SpectralSweepRow> Rows);
