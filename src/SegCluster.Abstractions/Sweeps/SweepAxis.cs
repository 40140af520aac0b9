namespace SegCluster.Abstractions.Sweeps;

/// <summary>
/// One dimension of a sweep: a spec path (e.g. "training.learning_rate", "labels.factor") and the values it takes.
/// <c>grid</c> values are always all tried (Cartesian product); <c>choice</c> values are all tried by grid search and
/// drawn at random by random and ASHA search; <c>uniform</c>, <c>log-uniform</c> and <c>integer</c> draw from [Min, Max]
/// with the search seed (Ray Tune's tune.grid_search / choice / uniform / loguniform / randint, max inclusive).
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SweepAxis")]
public sealed record SweepAxis
{
    public const string Choice = "choice";
    public const string Grid = "grid";
    public const string Uniform = "uniform";
    public const string LogUniform = "log-uniform";
    public const string Integer = "integer";

    /// <summary>Valid <see cref="Kind"/> values.</summary>
    public static readonly IReadOnlyList<string> Kinds = [Choice, Grid, Uniform, LogUniform, Integer];

    [Id(0)] public string Path { get; init; } = "";
    [Id(1)] public string Kind { get; init; } = Grid;
    /// <summary>Values of a choice or grid axis, as written in the spec (parsed to the field's type when applied).</summary>
    [Id(2)] public IReadOnlyList<string> Values { get; init; } = [];
    /// <summary>Bounds of a uniform, log-uniform or integer axis; required there, refused on choice and grid axes.</summary>
    [Id(3)] public double? Min { get; init; }
    [Id(4)] public double? Max { get; init; }

    public bool IsDiscrete => Kind is Choice or Grid;
}
