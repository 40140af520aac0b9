namespace SegCluster.Cluster.Scheduling;

/// <summary>
/// Which queued requests the live nodes can ever run, held workers included. One that needs more workers of its kind
/// than they have cannot start by waiting for running experiments, so it must not hold the strict-FIFO queue; a ring
/// re-forming after a lost node holds it anyway (it already waited its turn, and its node may come back). Pure: over the
/// scheduler's record and the nodes the membership lists active.
/// </summary>
public static class QueueCapacity
{
    /// <summary>Whether <paramref name="request"/> holds the queue: a re-forming ring always, an experiment when the live
    /// nodes have as many workers of its kind as it needs, held or free.</summary>
    public static bool Runnable(SchedulerRecord record, ISet<string> liveNodes, QueuedExperiment request) =>
        request.Spec is null || FitsCluster(record, liveNodes, request);

    /// <summary>Why <paramref name="queued"/> cannot start by waiting for running experiments (the live nodes have too few
    /// workers of its kind, for it or for a ring re-forming ahead of it in the queue); null when it waits its turn.</summary>
    public static string? WaitingReason(SchedulerRecord record, ISet<string> liveNodes, QueuedExperiment queued)
    {
        int KindCount(string device) => LiveWorkersOfKind(record, liveNodes, device);
        if (!FitsCluster(record, liveNodes, queued))
            return queued.Spec is null
                ? $"it re-forms and needs {queued.Workers} {queued.Device} workers, more than the live nodes have ({KindCount(queued.Device)}): " +
                  "the queue waits for its lost node to come back, or cancel it"
                : $"the cluster's live nodes have {KindCount(queued.Device)} {queued.Device} worker(s) and this experiment needs {queued.Workers}: " +
                  "it starts when nodes join (experiments queued after it that fit start before it), or cancel it and ask for fewer workers";
        var ahead = record.Queue.TakeWhile(q => q.ExperimentId != queued.ExperimentId);
        return ahead.FirstOrDefault(q => q.Spec is null && !FitsCluster(record, liveNodes, q)) is { } ring
            ? $"experiment '{ring.ExperimentId}' re-forms ahead of it and needs {ring.Workers} {ring.Device} workers, more than the live nodes have " +
              $"({KindCount(ring.Device)}): the queue waits for its lost node to come back, or cancel it"
            : null;
    }

    /// <summary>Whether the live nodes have as many workers of the request's kind as it needs, held or free.</summary>
    private static bool FitsCluster(SchedulerRecord record, ISet<string> liveNodes, QueuedExperiment request) =>
        LiveWorkersOfKind(record, liveNodes, request.Device) >= request.Workers;

    /// <summary>The known workers of <paramref name="device"/>'s kind (<see cref="GangAllocator.SameKind"/>) on live nodes.</summary>
    private static int LiveWorkersOfKind(SchedulerRecord record, ISet<string> liveNodes, string device) =>
        record.Workers.Values.Count(w => liveNodes.Contains(w.NodeId) && GangAllocator.SameKind(w.Device, device));
}
