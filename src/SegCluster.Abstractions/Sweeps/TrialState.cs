namespace SegCluster.Abstractions.Sweeps;

/// <summary>Pending → Running → Completed | Stopped (ASHA) | Failed | Cancelled; Skipped before it runs (invalid or predicted to lose).</summary>
[GenerateSerializer, Alias("SegCluster.TrialState")]
public enum TrialState { Pending, Running, Completed, Stopped, Failed, Skipped, Cancelled }

public static class TrialStateExtensions
{
    /// <summary>A finished trial is never run again, also after the sweep coordinator moves.</summary>
    public static bool IsFinished(this TrialState state) => state is not (TrialState.Pending or TrialState.Running);
}
