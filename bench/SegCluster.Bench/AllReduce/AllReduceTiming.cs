namespace SegCluster.Bench.AllReduce;

/// <summary>Wall times of the timed calls of one buffer size, as rank 0 saw them, and the run's relative L2 error on gradient-like data.</summary>
internal sealed record AllReduceTiming(long Bytes, IReadOnlyList<double> Seconds, double RelativeL2Error);
