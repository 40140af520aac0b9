using Orleans.Placement;

namespace SegCluster.Cluster.Placement;

/// <summary>Spreads the shards of one analysis over the cluster's nodes: shard s of a grain keyed "...|{s}" goes to the
/// s-th active silo (in a stable order, modulo their count), so N shards on N nodes land one per node
/// (see <see cref="ShardSpreadPlacementDirector"/>).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.ShardSpreadPlacement")]
public sealed class ShardSpreadPlacement : PlacementStrategy
{
    public static readonly ShardSpreadPlacement Instance = new();
}

/// <summary>Marks a grain class keyed "...|{shard}" for <see cref="ShardSpreadPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ShardSpreadPlacementAttribute() : PlacementAttribute(ShardSpreadPlacement.Instance);
