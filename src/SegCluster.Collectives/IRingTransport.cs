namespace SegCluster.Collectives;

/// <summary>
/// Moves one rank's chunks around the ring for <see cref="RingAllReduce"/>, which owns validation,
/// sequencing and statistics. Implementations run the same reduce-scatter + all-gather schedule
/// (<see cref="RingSchedule"/>), so every transport produces the same bits.
/// </summary>
internal interface IRingTransport : IDisposable
{
    /// <summary>Sums <paramref name="buffer"/> in place across the ring (W ≥ 2); returns the payload bytes sent.</summary>
    /// <param name="fullPrecision">fp32 on the wire whatever <see cref="CollectiveOptions.Wire"/> says.</param>
    Task<long> SumAsync(ArraySegment<float> buffer, long sequence, bool fullPrecision, CancellationToken cancellationToken);
}
