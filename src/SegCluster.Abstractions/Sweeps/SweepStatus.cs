namespace SegCluster.Abstractions.Sweeps;

/// <summary>A snapshot of a sweep, as the live progress view and `segcluster results` show it.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SweepStatus")]
public sealed record SweepStatus(
    [property: Id(0)] string SweepId,
    [property: Id(1)] SweepState State,
    [property: Id(2)] SweepSpec? Spec,
    [property: Id(3)] IReadOnlyList<TrialResult> Trials,
    [property: Id(4)] string? Error = null)
{
    public int Count(TrialState state) => Trials.Count(t => t.State == state);

    /// <summary>The trial with the best metric among those that have one (completed first, then stopped).</summary>
    public TrialResult? Best => Spec is null ? null : Ranked(Spec, Trials).FirstOrDefault(IsRanked);

    /// <summary>Trials best first: completed before stopped, by metric in the sweep's mode; failed, cancelled and unscored
    /// trials last (a failed trial's last loss is no result, and must not be the best when nothing completed).</summary>
    public static IReadOnlyList<TrialResult> Ranked(SweepSpec spec, IEnumerable<TrialResult> trials) => trials
        .OrderBy(t => !IsRanked(t) ? 2 : t.State == TrialState.Completed ? 0 : 1)
        .ThenBy(t => t.Metric is { } m && double.IsFinite(m) ? (spec.Maximize ? -m : m) : 0)
        .ThenBy(t => t.Index)
        .ToList();

    private static bool IsRanked(TrialResult trial) =>
        trial.State is TrialState.Completed or TrialState.Stopped && trial.Metric is { } metric && double.IsFinite(metric);
}
