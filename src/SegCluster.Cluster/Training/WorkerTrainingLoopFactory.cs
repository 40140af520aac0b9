using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Messages;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Telemetry;
using SegCluster.Collectives;

namespace SegCluster.Cluster.Training;

/// <summary>Builds a <see cref="WorkerTrainingLoop"/> with the node's services (DI singleton).</summary>
public sealed class WorkerTrainingLoopFactory(
    IGrainFactory grains,
    CollectiveMailbox mailbox,
    IOptions<CollectiveOptions> collectiveOptions,
    NodeReducerGroups nodeGroups,
    SegClusterMetrics metrics,
    IOptions<NodeOptions> node,
    TrainingDataSources dataSources,
    DeviceOccupancy devices,
    SpecPathPolicy paths,
    ILoggerFactory loggers)
{
    public WorkerTrainingLoop Create(TrainingAssignment assignment, WorkerInfo worker) =>
        new(assignment, worker, grains, mailbox, collectiveOptions.Value, nodeGroups, metrics, dataSources, devices, node.Value.CheckpointDirectory, paths,
            loggers.CreateLogger<WorkerTrainingLoop>(), loggers.CreateLogger(WorkerTrainingLoop.FailureCategory));
}
