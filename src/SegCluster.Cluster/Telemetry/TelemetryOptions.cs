namespace SegCluster.Cluster.Telemetry;

/// <summary>The node's "Telemetry" configuration section.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>OpenTelemetry's default cardinality limit.</summary>
    public const int DefaultSeriesLimit = 2000;

    /// <summary>
    /// Label sets each SegCluster metric may hold over the node process's life (OpenTelemetry's cardinality limit). The
    /// Prometheus exporter is cumulative and the SDK never frees a label set, so every (experiment, worker) a node has
    /// trained keeps one per worker metric until the process restarts, even after its gauges stop being exported. Past
    /// the limit the SDK folds new label sets into one series labelled <c>otel_metric_overflow="true"</c>; the node
    /// logs a warning when that starts and exports how many it has used (<c>segcluster_telemetry_series</c>).
    /// Each unit costs about a hundred bytes per metric, reserved up front.
    /// </summary>
    public int SeriesLimit { get; set; } = DefaultSeriesLimit;
}
