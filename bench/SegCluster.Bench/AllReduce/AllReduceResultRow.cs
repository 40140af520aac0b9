namespace SegCluster.Bench.AllReduce;

/// <summary>
/// One (path, world size, buffer) measurement. busbw = algbw × 2(W−1)/W (nccl-tests' convention: the
/// bytes each rank's link must carry); busbw_ratio = busbw over the loopback TCP bound of the same run.
/// </summary>
internal sealed record AllReduceResultRow(
    string Path,
    int WorldSize,
    long Bytes,
    double SecondsMedian,
    double SecondsMin,
    double AlgbwGBps,
    double BusbwGBps,
    double LoopbackGBps,
    double BusbwRatio)
{
    public static AllReduceResultRow From(string path, int worldSize, AllReduceTiming timing, double loopbackBytesPerSecond)
    {
        var sorted = timing.Seconds.Order().ToArray();
        var median = sorted[sorted.Length / 2];
        var algbw = timing.Bytes / median / 1e9;
        var busbw = algbw * 2.0 * (worldSize - 1) / worldSize;
        var loopback = loopbackBytesPerSecond / 1e9;
        return new AllReduceResultRow(path, worldSize, timing.Bytes, median, sorted[0], Math.Round(algbw, 4), Math.Round(busbw, 4),
            Math.Round(loopback, 4), Math.Round(busbw / loopback, 4));
    }
}
