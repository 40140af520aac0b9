namespace SegCluster.Abstractions.Specs;

/// <summary>SPGNet ablation switches (PAPERS.md §1, SPG module): each part of the module on or off.
/// The paper ranks them supervision &gt; sigmoid excitation &gt; identity path; all on is its best.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SpgSpec")]
public sealed record SpgSpec
{
    /// <summary>The SPG prediction P is supervised by the label (an intermediate CE term).</summary>
    [Id(0)] public bool Supervision { get; init; } = true;
    /// <summary>A = σ(Conv1×1(P)); off: the linear Conv1×1(P).</summary>
    [Id(1)] public bool Sigmoid { get; init; } = true;
    /// <summary>F' = F + F ⊙ A; off: F' = F ⊙ A.</summary>
    [Id(2)] public bool Identity { get; init; } = true;
}
