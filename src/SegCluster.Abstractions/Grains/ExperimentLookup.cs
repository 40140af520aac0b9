using SegCluster.Abstractions.Messages;

namespace SegCluster.Abstractions.Grains;

/// <summary>An experiment the cluster knows: started (its grain has a spec) or waiting in the scheduler's queue.</summary>
/// <param name="QueuePosition">1-based position in the queue; null once started.</param>
public sealed record ExperimentLookup(ExperimentStatus Status, int? QueuePosition)
{
    /// <summary>
    /// The experiment of this id, or null when nobody submitted it. The grain of any id answers, an unknown one as
    /// Pending with no steps, which is also how a queued experiment looks (the scheduler holds its spec), so the
    /// queue decides. Call before acting on an id: cancelling an unknown one would record it as cancelled.
    /// </summary>
    public static async Task<ExperimentLookup?> FindAsync(IGrainFactory grains, string experimentId)
    {
        var status = await grains.GetGrain<IExperimentGrain>(experimentId).GetStatusAsync();
        if (status.State != ExperimentState.Pending || status.TotalSteps != 0) return new ExperimentLookup(status, null);
        var queue = (await grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).GetSnapshotAsync()).Queue.ToList();
        var position = queue.IndexOf(experimentId);
        return position < 0 ? null : new ExperimentLookup(status, position + 1);
    }
}
