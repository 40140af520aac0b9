namespace SegCluster.Cli.Spectral;

/// <summary>
/// How well the advisor predicted training for one label mode (rows at decoder truncation 1): Spearman ρ between the
/// predicted oracle mIoU and the trained mIoU over the factors; the coarsest factor whose trained mIoU is within the
/// tolerance of the finest factor's (training's own recommendation), and whether it is the advisor's. ρ is null where
/// it is undefined (fewer than 2 factors, or one side constant).
/// </summary>
public sealed record SpectralSweepModeSummary(
    string Mode, int Factors, double? SpearmanRho, int AdvisorFactor, int? TrainedFactor, double Tolerance, bool Agreed);
