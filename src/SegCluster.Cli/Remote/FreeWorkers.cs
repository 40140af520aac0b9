using SegCluster.Abstractions.Grains;
using SegCluster.Cluster.Scheduling;

namespace SegCluster.Cli.Remote;

/// <summary>Workers of a running cluster that nothing holds, as the scheduler lists them: the workers `sweep --cluster` and
/// `spectral-sweep --cluster` offer their sweep, which then holds them (<see cref="ISchedulerGrain.ReserveAsync"/>; refused,
/// naming the holder, when one was taken meanwhile). `eval --cluster` leases its workers instead (<see cref="WorkerLease"/>).</summary>
public static class FreeWorkers
{
    /// <summary>At most <paramref name="max"/> free worker ids; throws <see cref="InvalidOperationException"/> naming the
    /// shortfall when fewer than <paramref name="min"/> are free.</summary>
    /// <param name="device">Only workers of this device kind (cpu, cuda), as the scheduler's gangs; null: any.</param>
    public static async Task<IReadOnlyList<string>> TakeAsync(IGrainFactory grains, int max, int min = 1, string? device = null)
    {
        var snapshot = await grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).GetSnapshotAsync();
        var free = snapshot.Workers.Where(w => w.ExperimentId is null && (device is null || GangAllocator.SameKind(w.Worker.Device, device)))
            .Select(w => w.Worker.WorkerId).Take(max).ToList();
        if (free.Count < Math.Max(1, min))
            throw new InvalidOperationException(GangAllocator.Shortfall(free.Count, snapshot.Workers.Count, Math.Max(1, min), device));
        return free;
    }
}
