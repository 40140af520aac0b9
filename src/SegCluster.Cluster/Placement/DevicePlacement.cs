using Orleans.Placement;

namespace SegCluster.Cluster.Placement;

/// <summary>A worker grain lives on the node that owns its device: key "{node}/{index}" names the node,
/// whose silo carries the node id as its name (see <see cref="DevicePlacementDirector"/>).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.DevicePlacement")]
public sealed class DevicePlacement : PlacementStrategy
{
    public static readonly DevicePlacement Instance = new();
}

/// <summary>Marks a grain class keyed "{node}/{index}" for <see cref="DevicePlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class DevicePlacementAttribute() : PlacementAttribute(DevicePlacement.Instance);
