using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Messages;
using SegCluster.Cluster.Data;

namespace SegCluster.Cluster.Training;

/// <summary>
/// The training log's data line, once per epoch of a rank: mean data wait per step, its share of the step, and the
/// node's sample cache (hit rate, bytes). The per-step values go to the metrics; this is the human summary.
/// </summary>
internal sealed class EpochDataLog(int rank, SampleSourceLease data, ILogger logger)
{
    private int _epoch = -1, _steps;
    private double _wait, _step;

    public void Record(int epoch, StepReport report)
    {
        if (epoch != _epoch) Flush();
        _epoch = epoch;
        _steps++;
        _wait += report.DataWaitSeconds;
        _step += report.StepSeconds;
    }

    public void Flush()
    {
        if (_steps > 0)
        {
            var cache = data.Source.CacheStatistics;
            logger.LogInformation(
                "Rank {Rank} epoch {Epoch}: {Steps} steps, data wait {WaitMs:F2} ms/step = {WaitShare:P1} of the step; {Dataset} cache hit rate {HitRate:P1}, {CacheMiB:F1} MiB",
                rank, _epoch, _steps, 1000 * _wait / _steps, _step > 0 ? _wait / _step : 0, data.Dataset, cache.HitRate, cache.Bytes / 1048576.0);
        }
        (_steps, _wait, _step) = (0, 0, 0);
    }
}
