namespace SegCluster.Cluster.Telemetry;

/// <summary>The label set of a worker's series: experiment, worker, node, device.</summary>
public sealed record WorkerLabels(string Experiment, string Worker, string Node, string Device)
{
    public KeyValuePair<string, object?>[] ToTags() =>
    [
        new(MetricNames.Labels.Experiment, Experiment),
        new(MetricNames.Labels.Worker, Worker),
        new(MetricNames.Labels.Node, Node),
        new(MetricNames.Labels.Device, Device),
    ];
}
