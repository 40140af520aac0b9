namespace SegCluster.Vision.Spectral;

/// <summary>Targets of the label-grid advisor (PAPERS.md §2 "Efficient grid"; defaults from there).</summary>
/// <param name="MinEnergy">Smallest share of label spectral energy the coarse grid must keep.</param>
/// <param name="MaxOracleMIoUDrop">Largest oracle mIoU drop (fraction, 0.01 = 1 point) against factor 1.</param>
/// <param name="Bands">Radial bands of the reported spectrum.</param>
/// <param name="IgnoreIndex">Ignore label.</param>
public sealed record GridAdvisorOptions(double MinEnergy = 0.95, double MaxOracleMIoUDrop = 0.01, int Bands = 16, int IgnoreIndex = 255)
{
    /// <summary>The candidate factors; only those dividing both sides are evaluated.</summary>
    public static readonly IReadOnlyList<int> CandidateFactors = [1, 2, 4, 8, 16, 32];

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (!(MinEnergy is >= 0 and <= 1))
            throw new ArgumentException($"GridAdvisorOptions.MinEnergy = {MinEnergy} must be in [0, 1].", nameof(MinEnergy));
        if (!(MaxOracleMIoUDrop is >= 0 and <= 1))
            throw new ArgumentException($"GridAdvisorOptions.MaxOracleMIoUDrop = {MaxOracleMIoUDrop} must be in [0, 1] (0.01 = 1 mIoU point).", nameof(MaxOracleMIoUDrop));
        if (Bands < 1)
            throw new ArgumentException($"GridAdvisorOptions.Bands = {Bands} must be >= 1.", nameof(Bands));
    }
}
