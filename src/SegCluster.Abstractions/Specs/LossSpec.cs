namespace SegCluster.Abstractions.Specs;

/// <summary>The training loss: CE (with the intermediate terms of training.auxiliary_weight), the class-suppression
/// scheme (PAPERS.md §4) or partial CE + the dynamic feature regularised loss (§5).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.LossSpec")]
public sealed record LossSpec
{
    public const string CrossEntropyKind = "ce";
    public const string ClassSuppressionKind = "class-suppression";
    public const string ScribbleRegularizedKind = "scribble-regularized";
    public static readonly IReadOnlyList<string> Kinds = [CrossEntropyKind, ClassSuppressionKind, ScribbleRegularizedKind];

    /// <summary>ce | class-suppression | scribble-regularized.</summary>
    [Id(0)] public string Kind { get; init; } = CrossEntropyKind;
    [Id(1)] public ClassSuppressionSpec ClassSuppression { get; init; } = new();
    [Id(2)] public ScribbleLossSpec Scribble { get; init; } = new();
}
