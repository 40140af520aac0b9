using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Security;
using SegCluster.Cluster.Nodes;

namespace SegCluster.Cluster.Security;

/// <summary>
/// With Node:Token set, a grain call that comes from an Orleans client (the CLI, through a gateway) must carry
/// the token in its request context; otherwise it is refused before the grain runs, so nothing changes.
/// Calls between grains of the cluster's own silos are trusted (silo ports belong on a private network); the
/// node's own hosted client (HTTP API, heartbeat) sends the token through <see cref="ClusterTokenCallFilter"/>.
/// </summary>
public sealed class ClientTokenFilter(IOptions<NodeOptions> node) : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        var token = node.Value.Token;
        // Every grain call passes here (step reports included): a client's call to any grain is checked, Orleans' own
        // (the management grain forces collections and sends provider commands) as well as SegCluster's.
        if (string.IsNullOrEmpty(token) || context.SourceId is not { } source || !GrainTypePrefix.IsClient(source) || IsSystemTarget(context))
            return context.Invoke();
        var presented = RequestContext.Get(ClusterToken.RequestContextKey) as string;
        if (!ClusterToken.Matches(presented, token))
            // The caller knows whether it sent a token, so telling the two apart reveals nothing about the token.
            throw new UnauthorizedAccessException(presented is null
                ? $"Permission denied: {context.InterfaceMethod?.Name} needs the cluster token and none was given; set SEGCLUSTER_TOKEN (or --token) to the nodes' Node:Token."
                : $"Permission denied: the cluster token was refused ({context.InterfaceMethod?.Name}); SEGCLUSTER_TOKEN (or --token) must equal the nodes' Node:Token.");
        return context.Invoke();
    }

    // Orleans' system targets (directory, type manifest) answer a client as it connects, before it can present anything.
    private static bool IsSystemTarget(IIncomingGrainCallContext context) => GrainTypePrefix.IsSystemTarget(context.TargetId);
}
