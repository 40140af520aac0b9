using SegCluster.Abstractions.Messages;

namespace SegCluster.Cluster.Scheduling;

/// <summary>
/// Picks a gang: all <c>count</c> workers at once or none. Free workers whose device kind matches ("cpu", or
/// any "cuda:N" for a cuda spec) on live nodes, packed onto as few nodes as possible (nodes with the most free
/// matching workers first) so ranks of one node can reduce in memory; ties broken by id for determinism.
/// </summary>
public static class GangAllocator
{
    public static IReadOnlyList<string>? TryAllocate(SchedulerRecord record, int count, string device, ISet<string> liveNodes)
    {
        var free = FreeInPackingOrder(record, device, liveNodes).Take(count).ToList();
        return free.Count == count ? free : null;
    }

    /// <summary>The free workers of the <paramref name="device"/> kind (any kind when null) on live nodes, in the order gangs
    /// take them.</summary>
    public static IEnumerable<string> FreeInPackingOrder(SchedulerRecord record, string? device, ISet<string> liveNodes) =>
        record.Workers.Values
            .Where(w => !record.Allocations.ContainsKey(w.WorkerId) && liveNodes.Contains(w.NodeId) && (device is null || SameKind(w.Device, device)))
            .GroupBy(w => w.NodeId)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .SelectMany(g => g.OrderBy(w => w.WorkerId, StringComparer.Ordinal))
            .Select(w => w.WorkerId);

    /// <summary>Why fewer than <paramref name="needed"/> workers can be had, and what to do: the one wording of the scheduler's
    /// leases and of the CLI's picks from its snapshot.</summary>
    /// <param name="device">The device kind asked for; null: any.</param>
    public static string Shortfall(int free, int total, int needed, string? device) =>
        $"the cluster has {free} free {(device is null ? "" : $"{device} ")}worker(s) of {total}, {needed} needed; wait for a running experiment, cancel one, or add nodes.";

    public static bool SameKind(string workerDevice, string specDevice) =>
        Kind(workerDevice) == Kind(specDevice);

    private static string Kind(string device) => device.StartsWith("cuda", StringComparison.Ordinal) ? "cuda" : device;
}
