namespace SegCluster.Vision.Spectral;

/// <summary>Outcome of <see cref="GridAdvisor.Advise"/>.</summary>
/// <param name="Factors">One report per evaluated factor, ascending.</param>
/// <param name="RecommendedFactor">The coarsest factor meeting both targets (1 always does).</param>
/// <param name="Images">Images analysed.</param>
/// <param name="ParsevalRelativeError">Check of the spectrum (≈ 1e-12 when right).</param>
/// <param name="ClassEnergyRetained">Per factor (same order as <paramref name="Factors"/>), the share kept of each class.</param>
/// <param name="CumulativeEnergy">Per class, cumulative energy share over the radial bands.</param>
/// <param name="DatasetCumulativeEnergy">The same for all classes' energy together (PAPERS.md §2: per class and for the dataset).</param>
public sealed record GridAdvice(
    IReadOnlyList<GridFactorReport> Factors, int RecommendedFactor, long Images, double ParsevalRelativeError,
    IReadOnlyList<double[]> ClassEnergyRetained, double[][] CumulativeEnergy, double[] DatasetCumulativeEnergy);
