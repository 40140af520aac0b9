namespace SegCluster.Vision.Spectral;

/// <summary>The advisor's figures for one down-sampling factor (PAPERS.md §2 "Efficient grid" (a)–(c)).</summary>
/// <param name="Factor">f.</param>
/// <param name="GridHeight">H / f.</param>
/// <param name="GridWidth">W / f.</param>
/// <param name="EnergyRetained">(a) Share of all classes' label energy below the coarse grid's Nyquist limit.</param>
/// <param name="OracleMIoUNearest">(b) mIoU of nearest-down-then-nearest-up ground truth against itself.</param>
/// <param name="OracleMIoUSoft">(b) mIoU of soft-down, bilinear-up, argmax ground truth against itself.</param>
/// <param name="CrossEntropyFull">CE of the fixed prediction at full resolution.</param>
/// <param name="CrossEntropyNearest">(c) CE of the area-down-sampled prediction against nearest labels.</param>
/// <param name="CrossEntropySoft">(c) Soft CE of the area-down-sampled prediction against soft labels.</param>
public sealed record GridFactorReport(
    int Factor, long GridHeight, long GridWidth, double EnergyRetained,
    double OracleMIoUNearest, double OracleMIoUSoft,
    double CrossEntropyFull, double CrossEntropyNearest, double CrossEntropySoft)
{
    /// <summary>Coarse nearest CE − full CE.</summary>
    public double CrossEntropyGapNearest => CrossEntropyNearest - CrossEntropyFull;

    /// <summary>Coarse soft CE − full CE.</summary>
    public double CrossEntropyGapSoft => CrossEntropySoft - CrossEntropyFull;
}
