using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SegCluster.Cluster.Telemetry;

/// <summary>
/// Counts the distinct label sets one family of SegCluster metrics has been given, up to the cardinality limit
/// (<see cref="TelemetryOptions.SeriesLimit"/>), and warns once when it is reached: from the next new label set on,
/// OpenTelemetry folds new series into its overflow series, so a long sweep's later runs would vanish from the
/// dashboard without a word. A key may stand for several label sets (a sweep: one per trial state). Memory is bounded
/// by the limit. Thread-safe.
/// </summary>
internal sealed class LabelSetBudget<TKey>(string family, int limit, int setsPerKey, ILogger logger) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, byte> _seen = new();
    private readonly int _keys = Math.Max(1, limit / setsPerKey);  // a limit below setsPerKey: the first key already fills it
    private int _warned;

    public string Family { get; } = family;

    /// <summary>Distinct label sets recorded, at most the limit.</summary>
    public int Used => _seen.Count * setsPerKey;

    public void Track(TKey key)
    {
        if (_seen.Count >= _keys || !_seen.TryAdd(key, 0) || _seen.Count < _keys) return;
        if (Interlocked.Exchange(ref _warned, 1) == 0)
            logger.LogWarning("Telemetry: this node has given its {Family} metrics {Limit} label sets (Telemetry:SeriesLimit); OpenTelemetry never frees them, " +
                              "so runs that start here from now on are exported in the otel_metric_overflow=\"true\" series, not under their own labels. " +
                              "Restart the node between large sweeps or raise Telemetry:SeriesLimit.", Family, _keys * setsPerKey);
    }
}
