using SegCluster.Collectives;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Training;

/// <summary>
/// The in-memory reducer groups of this node, one per ring formation: the ranks of one ring that run on this node
/// find each other here by ring id (DI singleton, so every worker of the node sees the same group). A group lives
/// while any of its ranks holds a lease; the next formation has another ring id and so a fresh group.
/// </summary>
public sealed class NodeReducerGroups
{
    private readonly Dictionary<string, (InMemoryReducerGroup Group, int Leases)> _groups = [];
    private readonly Lock _lock = new();

    /// <summary>The group <paramref name="groupId"/> (a ring on one node) of <paramref name="localRanks"/> ranks; dispose the lease when the rank ends.</summary>
    /// <param name="options">Bounds the waits for the other local ranks as they bound the network ring's: ConnectTimeout the
    /// first sum (the rendezvous: they may still be loading), Timeout each later one (a lost local rank fails the rest within it).</param>
    /// <param name="underLeaders">The group is the first level of a ring of node leaders: its first two calls are the
    /// rendezvous, since the second waits for the leader's first sum with nodes that may start up to ConnectTimeout late.</param>
    public Lease Join(string groupId, int localRanks, CollectiveOptions options, bool underLeaders = false)
    {
        lock (_lock)
        {
            var (group, leases) = _groups.TryGetValue(groupId, out var known)
                ? known
                : (new InMemoryReducerGroup(localRanks, options.Timeout, options.ConnectTimeout, rendezvousCalls: underLeaders ? 2 : 1), 0);
            if (group.WorldSize != localRanks)
                throw new InvalidOperationException($"ring '{groupId}' has {group.WorldSize} ranks on this node, not {localRanks}.");
            _groups[groupId] = (group, leases + 1);
            return new Lease(this, groupId, group);
        }
    }

    private void Leave(string groupId)
    {
        lock (_lock)
        {
            var (group, leases) = _groups[groupId];
            if (leases == 1) _groups.Remove(groupId);
            else _groups[groupId] = (group, leases - 1);
        }
    }

    public sealed class Lease(NodeReducerGroups owner, string groupId, InMemoryReducerGroup group) : IDisposable
    {
        private bool _disposed;

        public InMemoryReducerGroup Group => group;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            owner.Leave(groupId);
        }
    }
}
