namespace SegCluster.Abstractions.Specs;

/// <summary>
/// Label grid of the final loss (PAPERS.md §2 "Efficient grid", "Block-wise"; §3 soft labels). The loss is
/// computed on the grid down-sampled by <see cref="Factor"/>: the network's decoder stops at that grid in
/// training; evaluation stays at full resolution (logits upsampled).
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.LabelsSpec")]
public sealed record LabelsSpec
{
    public const string Full = "full";
    public const string Nearest = "nearest";
    public const string SoftCe = "soft-ce";
    public const string SoftKl = "soft-kl";
    public const string Block = "block";
    public const string Scribble = "scribble";
    public const string Majority = "majority";

    /// <summary>Valid <see cref="Mode"/> values.</summary>
    public static readonly IReadOnlyList<string> Modes = [Full, Nearest, Majority, SoftCe, SoftKl, Block, Scribble];

    /// <summary>Modes that keep the full-resolution grid (factor 1).</summary>
    public static readonly IReadOnlyList<string> FullGridModes = [Full, Scribble];

    /// <summary>Modes with soft labels (<see cref="Renormalize"/> applies to them only).</summary>
    public static readonly IReadOnlyList<string> SoftModes = [SoftCe, SoftKl];

    /// <summary>full | nearest | majority (mode pooling, §3's baseline) | soft-ce | soft-kl | block | scribble (strokes synthesised
    /// from the full masks, partial CE, PAPERS.md §5).</summary>
    [Id(0)] public string Mode { get; init; } = Full;

    /// <summary>Down-sampling factor f, or block size b in "block" mode; 1, 2, 4, 8 or 16 (divides the image sides).</summary>
    [Id(1)] public int Factor { get; init; } = 1;

    /// <summary>Block mode: blocks whose majority share of valid pixels is below this are ignored (0 = keep all).</summary>
    [Id(2)] public double BlockMinPurity { get; init; }

    /// <summary>Soft modes: false (the default, the authors' code) keeps each cell's raw class area fractions, so a cell half
    /// covered by ignore pixels weighs 0.5 in the loss (normalised by the total soft mass); true divides each cell's fractions
    /// by its valid mass, so every cell with a valid pixel weighs 1.</summary>
    [Id(3)] public bool Renormalize { get; init; }

    /// <summary>PAPERS.md §3's low-resolution training: the network is trained on the image area-down-sampled by
    /// <see cref="Factor"/> (H/f × W/f input, its whole decoder at that size, activation memory about f² smaller) against
    /// labels built from the full-resolution mask at its output size, in any down-sampling mode (so nearest, majority and soft
    /// compare at one input size); validation feeds the down-sampled image too and scores the upsampled logits against the
    /// full-resolution labels. false (the default): full-resolution input, only the label grid is coarse (§2's setting).</summary>
    [Id(4)] public bool DownsampleInput { get; init; }
}
