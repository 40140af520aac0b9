namespace SegCluster.Bench.Training;

/// <summary>
/// One world size of <see cref="ClusterThroughputBench"/>. Phase seconds are means per step over the measured steps
/// of every worker; shares divide them by the mean step. <see cref="ScalingEfficiency"/> = images/s at W over
/// W × images/s at 1 worker (null without a 1-worker row).
/// </summary>
internal sealed record ClusterThroughputRow(
    int Workers,
    string Reduction,
    string Wire,
    int TorchThreadsPerProcess,
    int MeasuredSteps,
    double ImagesPerSecond,
    double? ScalingEfficiency,
    double StepSeconds,
    double DataWaitSeconds,
    double ForwardBackwardSeconds,
    double AllReduceSeconds,
    double OptimizerSeconds,
    double ForwardBackwardShare,
    double AllReduceShare,
    double OptimizerShare,
    long AllReduceBytesPerStep,
    double? AllReduceGigabytesPerSecond,
    double WallSeconds)
{
    /// <summary>Which pass over the W list (1-based) measured this row.</summary>
    public int Repeat { get; init; }

    /// <summary>Mean over steps of the smallest all-reduce time among the ranks: the rank arriving last waits for no
    /// peer, so this is the reduction itself (transfer and sum); <see cref="AllReduceSeconds"/> minus it is waiting.</summary>
    public double AllReduceLastArrivalSeconds { get; init; }

    public double AllReduceLastArrivalShare { get; init; }

    /// <summary>Mean time the reducer worked on a step's sums (gradient buckets and statistics), overlapped with backward or not.</summary>
    public double AllReduceBusySeconds { get; init; }

    /// <summary>1 − waited / busy: the part of the reduction that backward hid (0 without overlap).</summary>
    public double AllReduceHiddenShare { get; init; }
}
