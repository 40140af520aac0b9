using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace SegCluster.Cluster.Nodes;

/// <summary>
/// Refuses to start a node whose id an active node of the cluster already has: both would register workers
/// "{id}/0…" with the scheduler, overwriting each other's inventory at every heartbeat, and runs would be placed on
/// either process. A node restarted under its id (a StatefulSet pod on a new address) meets its predecessor still
/// listed as active until the cluster declares it dead, so the check waits for that first: it refuses only a namesake
/// that stays active past the time Orleans takes to declare a silent node dead. Runs once the silo has joined the cluster,
/// before the node registers its workers (its start fails, so the caller exits with the reason).
/// </summary>
public sealed class DuplicateNodeCheck(
    IClusterMembershipService membership, ILocalSiloDetails local, IOptions<NodeOptions> options, ILogger<DuplicateNodeCheck> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(DuplicateNodeCheck), ServiceLifecycleStage.Active, CheckAsync);

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        var detection = options.Value.FailureDetection;
        // Orleans' longest path to declaring a node dead (one cut off with its connections open) is its liveness
        // window, 4 × probe timeout × missed probes (NodeFailureDetectionOptions); twice that, for the vote and the table.
        var patience = TimeSpan.FromSeconds(2 * 4 * detection.ProbeTimeoutSeconds * detection.MissedProbes);
        var deadline = DateTime.UtcNow + patience;
        var reported = false;
        while (Namesake() is { } other)
        {
            if (DateTime.UtcNow >= deadline)
                throw new NodeIdTakenException(
                    $"Node:NodeId '{local.Name}' is taken: a node of this cluster with that id is active at {other.SiloAddress.Endpoint} " +
                    $"(still after {patience.TotalSeconds:F0} s). Give this node its own id (--node-id), or stop the other one.");
            if (!reported)
                logger.LogWarning("A node named {Node} is listed as active at {Address}; waiting up to {Patience} s for the cluster to declare it dead (a restarted node's predecessor)",
                    local.Name, other.SiloAddress.Endpoint, patience.TotalSeconds);
            reported = true;
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    private ClusterMember? Namesake() => membership.CurrentSnapshot.Members.Values.FirstOrDefault(m =>
        m.Status == SiloStatus.Active && m.Name == local.Name && !m.SiloAddress.Equals(local.SiloAddress));
}

/// <summary>This node's id is an active node's of the cluster (<see cref="DuplicateNodeCheck"/>); the message says which.</summary>
public sealed class NodeIdTakenException(string message) : InvalidOperationException(message);
