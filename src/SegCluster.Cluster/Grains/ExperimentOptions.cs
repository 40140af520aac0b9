namespace SegCluster.Cluster.Grains;

/// <summary>Settings of experiment coordinators (configuration section "Experiments").</summary>
public sealed class ExperimentOptions
{
    public const string Section = "Experiments";

    /// <summary>How often a running coordinator asks its ring's workers whether they still run its attempt (and once
    /// shortly after it is reactivated with a ring): a rank whose loop vanished without a report is found within this
    /// and the ring re-formed. Lost nodes are found faster, by membership; this catches what nothing reports.</summary>
    public TimeSpan WatchdogInterval { get; set; } = TimeSpan.FromSeconds(30);
}
