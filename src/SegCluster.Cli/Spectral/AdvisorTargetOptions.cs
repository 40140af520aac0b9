using System.CommandLine;
using SegCluster.Cli.Commands;
using SegCluster.Vision.Spectral;

namespace SegCluster.Cli.Spectral;

/// <summary>
/// The label-grid advisor's targets as flags (PAPERS.md §2 "Efficient grid": the coarsest factor whose figures stay within
/// the user's targets; defaults ≥ 0.95 of the label energy, ≤ 1 oracle mIoU point), shared by `spectral` and `spectral-sweep`.
/// </summary>
public sealed class AdvisorTargetOptions
{
    private static readonly GridAdvisorOptions Defaults = new();

    public Option<double> MinEnergy { get; } = new("--min-energy")
    {
        Description = "Advisor target: the smallest share of the label spectral energy a recommended grid keeps, in [0, 1].",
        DefaultValueFactory = _ => Defaults.MinEnergy,
    };

    public Option<double> MaxOracleDrop { get; } = new("--max-oracle-drop")
    {
        Description = "Advisor target: the largest soft-oracle mIoU drop against full resolution, as a fraction (0.01 = 1 point).",
        DefaultValueFactory = _ => Defaults.MaxOracleMIoUDrop,
    };

    public AdvisorTargetOptions()
    {
        MinEnergy.Check(v => v is not (>= 0 and <= 1) ? "--min-energy must be in [0, 1] (0.95 = 95% of the label energy)." : null);
        MaxOracleDrop.Check(v => v is not (>= 0 and <= 1) ? "--max-oracle-drop must be in [0, 1] (0.01 = 1 mIoU point)." : null);
    }

    public void AddTo(Command command)
    {
        command.Options.Add(MinEnergy);
        command.Options.Add(MaxOracleDrop);
    }

    public GridAdvisorOptions Read(ParseResult parse) =>
        Defaults with { MinEnergy = parse.GetValue(MinEnergy), MaxOracleMIoUDrop = parse.GetValue(MaxOracleDrop) };
}
