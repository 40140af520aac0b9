namespace SegCluster.Bench.AllReduce;

/// <summary>Wall times of the timed calls of one buffer size, as rank 0 saw them.</summary>
internal sealed record AllReduceTiming(long Bytes, IReadOnlyList<double> Seconds);
