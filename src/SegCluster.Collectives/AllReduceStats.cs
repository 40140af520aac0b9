namespace SegCluster.Collectives;

/// <summary>What one <see cref="RingAllReduce.SumAsync"/> call cost this rank.</summary>
/// <param name="BytesSent">Payload bytes this rank sent to its successor (2·(W−1)/W of the buffer).</param>
/// <param name="Elapsed">Wall time of the call on this rank.</param>
public sealed record AllReduceStats(long BytesSent, TimeSpan Elapsed);
