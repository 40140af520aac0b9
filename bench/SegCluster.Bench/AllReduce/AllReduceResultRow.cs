using SegCluster.Collectives;

namespace SegCluster.Bench.AllReduce;

/// <summary>
/// One (path, world size, buffer) measurement. busbw = algbw × 2(W−1)/W (nccl-tests' convention: the
/// bytes each rank's link must carry); busbw_ratio = busbw over the loopback TCP bound (one stream) measured right
/// before the row's block;
/// busbw_ratio_concurrent = busbw over the per-stream rate of W concurrent loopback streams (on one host every
/// ring link shares the same cores' kernel copies; on a real network each link has its own wire).
/// </summary>
internal sealed record AllReduceResultRow(
    string Path,
    string Transport,
    string Wire,
    int WorldSize,
    long Bytes,
    double SecondsMedian,
    double SecondsMin,
    double AlgbwGBps,
    double BusbwGBps,
    double LoopbackGBps,
    double BusbwRatio,
    double LoopbackConcurrentGBps,
    double BusbwRatioConcurrent,
    double RelativeL2Error)
{
    public static AllReduceResultRow From(string path, RingTransport transport, WireFormat wire, int worldSize, AllReduceTiming timing, double loopbackBytesPerSecond, double concurrentBytesPerSecond)
    {
        var sorted = timing.Seconds.Order().ToArray();
        var median = sorted[sorted.Length / 2];
        var algbw = timing.Bytes / median / 1e9;
        var busbw = algbw * 2.0 * (worldSize - 1) / worldSize;
        var loopback = loopbackBytesPerSecond / 1e9;
        return new AllReduceResultRow(path, transport.ToString().ToLowerInvariant(), wire.ToString().ToLowerInvariant(), worldSize, timing.Bytes, median, sorted[0], Math.Round(algbw, 4), Math.Round(busbw, 4),
            Math.Round(loopback, 4), Math.Round(busbw / loopback, 4),
            Math.Round(concurrentBytesPerSecond / 1e9, 4), Math.Round(busbw / (concurrentBytesPerSecond / 1e9), 4), timing.RelativeL2Error);
    }
}
