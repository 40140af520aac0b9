using System.Reflection;
using System.Text.RegularExpressions;
using SegCluster.Cluster.Telemetry;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The Prometheus names SegCluster exports, for files that query them (alert rules, the Grafana dashboard): a
/// <see cref="MetricNames"/> instrument with dots as underscores, plus the exporter's unit or _total suffix (and a
/// histogram's _sum / _count / _bucket), listed in docs/metrics.md's table.</summary>
internal static partial class ExportedMetrics
{
    private static readonly string[] HistogramSeries = ["_sum", "_count", "_bucket"];

    /// <summary>Asserts that every segcluster_* name in <paramref name="text"/> is exported and documented; returns them.</summary>
    public static List<string> AssertExportedAndDocumented(string where, string text)
    {
        var instruments = typeof(MetricNames).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => ((string)f.GetRawConstantValue()!).Replace('.', '_')).ToList();
        var documented = File.ReadAllText(RepoPaths.Of("docs", "metrics.md"));
        var named = MetricName().Matches(text).Select(m => m.Value).Distinct().ToList();
        foreach (var metric in named)
        {
            var family = HistogramSeries.Where(s => metric.EndsWith(s, StringComparison.Ordinal)).Select(s => metric[..^s.Length])
                .FirstOrDefault(f => documented.Contains($"| `{f}` |", StringComparison.Ordinal)) ?? metric;
            Assert.True(documented.Contains($"| `{family}` |", StringComparison.Ordinal), $"{where}: {metric} is not in docs/metrics.md");
            Assert.True(instruments.Any(i => family == i || family.StartsWith(i + "_", StringComparison.Ordinal)), $"{where}: {metric} is no MetricNames instrument");
        }
        return named;
    }

    [GeneratedRegex(@"\bsegcluster_[a-z0-9_]+")]
    private static partial Regex MetricName();
}
