namespace SegCluster.Cluster.Sweeps;

/// <summary>Settings of sweep coordinators ("Sweeps" configuration section).</summary>
public sealed class SweepOptions
{
    public const string Section = "Sweeps";

    /// <summary>How often a running trial's experiment is asked for new steps.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Steps of the moving mean that smooths the training loss reported to ASHA and the curves.</summary>
    public int LossWindow { get; set; } = 5;

    /// <summary>Learning-curve points kept per trial (older points are thinned, never the last).</summary>
    public int MaxCurvePoints { get; set; } = 200;

    /// <summary>How long a cancel waits for the running trials to stop before it returns (they go on stopping): within
    /// Orleans' 30 s response timeout.</summary>
    public TimeSpan CancelWait { get; set; } = TimeSpan.FromSeconds(20);
}
