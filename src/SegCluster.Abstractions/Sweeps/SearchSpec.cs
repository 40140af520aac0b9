namespace SegCluster.Abstractions.Sweeps;

/// <summary>
/// How trials are chosen and stopped. <c>grid</c>: every combination of grid and choice values, each repeated
/// <see cref="Samples"/> times (range axes drawn per trial). <c>random</c>: grid axes expanded, every other axis drawn,
/// <see cref="Samples"/> times. <c>asha</c>: trials as random, plus asynchronous successive halving (Li et al., 2020,
/// "A System for Massively Parallel Hyperparameter Tuning"): at each rung budget MinBudget·η^k (steps) a trial whose
/// metric is not in the top 1/η of the trials already recorded at that rung is stopped.
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SearchSpec")]
public sealed record SearchSpec
{
    public const string Grid = "grid";
    public const string Random = "random";
    public const string Asha = "asha";

    /// <summary>Valid <see cref="Kind"/> values.</summary>
    public static readonly IReadOnlyList<string> Kinds = [Grid, Random, Asha];

    [Id(0)] public string Kind { get; init; } = Grid;
    /// <summary>Repeats of the grid (grid search) or number of draws per grid point (random, asha).</summary>
    [Id(1)] public int Samples { get; init; } = 1;
    [Id(2)] public int Seed { get; init; }
    /// <summary>ASHA: steps of the first rung.</summary>
    [Id(3)] public int MinBudget { get; init; } = 10;
    /// <summary>ASHA: η, the reduction factor; the top 1/η of each rung continues.</summary>
    [Id(4)] public int ReductionFactor { get; init; } = 3;
    /// <summary>ASHA: number of rungs (milestones MinBudget·η^k, k = 0 .. Rungs−1, each below the trial budget).</summary>
    [Id(5)] public int Rungs { get; init; } = 2;
}
