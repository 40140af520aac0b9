using System.Globalization;
using Orleans.Runtime.Placement;

namespace SegCluster.Cluster.Placement;

/// <summary>
/// Places shard s (the number after the key's last '|') on silo s mod n of the n compatible silos ordered by address.
/// When a node is lost its shards are placed again over the silos that remain.
/// </summary>
public sealed class ShardSpreadPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString()!;
        var silos = context.GetCompatibleSilos(target).OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToArray();
        if (silos.Length == 0) throw new OrleansException($"No silo can host shard '{key}'.");
        var shard = int.TryParse(key[(key.LastIndexOf('|') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 0;
        return Task.FromResult(silos[shard % silos.Length]);
    }
}
