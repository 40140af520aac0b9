using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using SegCluster.Cluster.Telemetry;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>Reads <c>segcluster.scheduler.workers</c> as one silo reports it (each silo has its own meter).</summary>
internal static class SchedulerWorkersGauge
{
    /// <returns>Workers by <c>state</c> label: "free", "allocated".</returns>
    public static Dictionary<string, int> Read(IServiceProvider silo)
    {
        var factory = silo.GetRequiredService<IMeterFactory>();
        var byState = new Dictionary<string, int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == MetricNames.SchedulerWorkers) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == MetricNames.Labels.State) byState[(string)tag.Value!] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return byState;
    }
}
