namespace SegCluster.Cli.Spectral;

/// <summary>
/// One trial of a spectral sweep: the advisor's predicted figures for its label grid (oracle mIoU and CE gap of the
/// mode's down-sampling: nearest oracle for nearest, soft oracle for soft-ce, soft-kl and block) next to what training
/// gave (full-resolution validation mIoU, images/s) and the cost of the network at that grid. AnnotationSaved: the share of
/// the labelling a block annotation saves (PAPERS.md §2: one label per f×f block), 0 for modes trained on dense masks.
/// </summary>
public sealed record SpectralSweepRow(
    string Trial, int Factor, string Mode, double DecoderTruncation, string State,
    double EnergyRetained, double PredictedMIoU, double PredictedCrossEntropyGap, bool Recommended,
    double? TrainedMIoU, double? ImagesPerSecond, double? ConvActivationMiB, double? GigaMacsPerImage, string? Reason,
    double AnnotationSaved = 0);
