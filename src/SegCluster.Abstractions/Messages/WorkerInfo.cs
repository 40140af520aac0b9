namespace SegCluster.Abstractions.Messages;

/// <summary>Where a worker lives: its node, its device and the node's collective (gRPC) endpoint.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.WorkerInfo")]
public sealed record WorkerInfo(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string NodeId,
    [property: Id(2)] string Device,
    [property: Id(3)] string CollectiveEndpoint);
