using Orleans.Runtime.Placement;
using SegCluster.Abstractions.Grains;

namespace SegCluster.Cluster.Placement;

/// <summary>
/// Places "{node}/{index}" on the active silo named "{node}". A worker of a node that is not in the cluster
/// cannot be activated anywhere else (its device is there), so the call fails at once with a clear error —
/// which is how an experiment learns that a gang member is gone.
/// </summary>
public sealed class DevicePlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var workerId = target.GrainIdentity.Key.ToString()!;
        var (nodeId, _) = WorkerIds.Parse(workerId);
        var compatible = context.GetCompatibleSilos(target);
        var members = membership.CurrentSnapshot.Members;
        foreach (var silo in compatible)
            if (members.TryGetValue(silo, out var member) && member.Status == SiloStatus.Active && member.Name == nodeId)
                return Task.FromResult(silo);
        throw new OrleansException($"Worker '{workerId}' belongs to node '{nodeId}', which is not an active member of the cluster.");
    }
}
