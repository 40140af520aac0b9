using SegCluster.Abstractions.Messages;
using SegCluster.Collectives;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Training;

/// <summary>
/// How one rank of a ring reduces (DESIGN.md: "intra-process workers reduced in memory before the network ring").
/// Ranks whose collective endpoint is the same run in the same node process. One rank per node: the flat gRPC ring
/// of all ranks. Several on a node: <see cref="HierarchicalGradientReducer"/>, an in-memory group per node and one
/// gRPC ring of node leaders (the node's lowest rank), so the network carries one buffer per node, not per worker.
/// Results equal the flat ring's up to float summation order (ranks of a node are summed first).
/// Failure: a lost node fails its leader's peers on the leaders' ring as before; the other ranks of a node whose
/// leader failed leave the in-memory group within the collective timeout (at once when the run is cancelled), so
/// every rank reports and the ring re-forms. <see cref="CollectiveOptions.NodeLocalReduction"/> = false forms the flat
/// ring even where ranks share a node (one machine measuring or exercising the network ring and its wire format).
/// </summary>
public sealed class RingReduction : IDisposable
{
    private readonly RingAllReduce? _ring;
    private readonly NodeReducerGroups.Lease? _lease;

    private RingReduction(IGradientReducer reducer, RingAllReduce? ring, NodeReducerGroups.Lease? lease, string description) =>
        (Reducer, _ring, _lease, Description) = (reducer, ring, lease, description);

    public IGradientReducer Reducer { get; }

    /// <summary>How this rank reduces, for the log ("flat ring of 4 ranks", "in memory with 2 ranks of this node, ...").</summary>
    public string Description { get; }

    /// <summary>Whether this rank reduces through a node-local group first.</summary>
    public bool Hierarchical => _lease is not null;

    public static RingReduction Join(TrainingAssignment assignment, CollectiveMailbox mailbox, CollectiveOptions options,
        NodeReducerGroups nodeGroups, CancellationToken cancellationToken)
    {
        var endpoints = assignment.RingEndpoints;
        var nodes = endpoints.Distinct(StringComparer.Ordinal).ToList();  // in rank order: node i's leader is its lowest rank
        var wire = $"{ExperimentCollectiveOptions.Name(options.Wire)} wire";
        if (nodes.Count == endpoints.Count || !options.NodeLocalReduction)
        {
            var flat = new RingAllReduce(new RingGroup(assignment.RingId, endpoints), assignment.Rank, mailbox, options);
            return new RingReduction(new RingGradientReducer(flat, cancellationToken), flat, null, $"flat ring of {endpoints.Count} ranks, {wire}");
        }

        var mine = endpoints[assignment.Rank];
        var localRanks = Enumerable.Range(0, endpoints.Count).Where(r => endpoints[r] == mine).ToList();
        var localRank = localRanks.IndexOf(assignment.Rank);
        // Keyed by ring and endpoint: one group per node even where several nodes share a process (tests).
        var lease = nodeGroups.Join($"{assignment.RingId}@{mine}", localRanks.Count, options, underLeaders: nodes.Count > 1);
        RingAllReduce? leaders = null;
        try
        {
            var local = lease.Group.Cancellable(localRank, cancellationToken);
            if (nodes.Count == 1)
            {
                // One node: its in-memory sum is the whole sum and already identical on every rank, so the hierarchical
                // broadcast (a second in-memory sum with zeros) would only cost two more barriers and a pass over the buffer.
                return new RingReduction(local, null, lease, $"in memory with {localRanks.Count} ranks of this node (the only node: no wire)");
            }
            IGradientReducer? acrossNodes = null;
            if (localRank == 0)
            {
                leaders = new RingAllReduce(new RingGroup(assignment.RingId + "#nodes", nodes), nodes.IndexOf(mine), mailbox, options);
                acrossNodes = new RingGradientReducer(leaders, cancellationToken);
            }
            var reducer = new HierarchicalGradientReducer(local, acrossNodes, assignment.Rank, endpoints.Count);
            return new RingReduction(reducer, leaders, lease, $"in memory with {localRanks.Count} ranks of this node, then the ring of {nodes.Count} node leaders, {wire}");
        }
        catch
        {
            // Leave the node's group, or it outlives this rank and the node holds its ring id until the process ends.
            leaders?.Dispose();
            lease.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _ring?.Dispose();
        _lease?.Dispose();
    }
}
