namespace SegCluster.Abstractions.Specs;

/// <summary>Class-suppression training (PAPERS.md §4, DropClass); used when loss.kind is "class-suppression".</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.ClassSuppressionSpec")]
public sealed record ClassSuppressionSpec
{
    public const string Uniform = "uniform";
    public const string InverseFrequency = "inverse-frequency";
    public static readonly IReadOnlyList<string> Samplings = [Uniform, InverseFrequency];

    /// <summary>E_end: drop probability p = epoch / E_end. Null = the run's length in epochs.</summary>
    [Id(0)] public double? EndEpoch { get; init; }
    /// <summary>E: plain-branch weight λ = 1 − epoch / E. Null = the run's length in epochs (the authors' E_end = E).</summary>
    [Id(1)] public double? TotalEpochs { get; init; }
    /// <summary>Weight of the dropped class's mean probability (10 in the authors' code).</summary>
    [Id(2)] public double SuppressionWeight { get; init; } = 10;
    /// <summary>How the dropped class is drawn: uniform | inverse-frequency (∝ 1 / pixel frequency of the train split).</summary>
    [Id(3)] public string Sampling { get; init; } = Uniform;
    /// <summary>inverse-frequency only: β >= 0 smooths 1 / f_k towards uniform as 1 / (f_k + β/K); 0 = the paper's plain
    /// inverse frequency.</summary>
    [Id(4)] public double FrequencyPrior { get; init; }
}
