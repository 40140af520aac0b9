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
        if (!string.IsNullOrEmpty(token) && context.SourceId is { } source && GrainTypePrefix.IsClient(source)
            && IsSegClusterGrain(context)
            && !ClusterToken.Matches(RequestContext.Get(ClusterToken.RequestContextKey) as string, token))
            throw new UnauthorizedAccessException(
                $"Permission denied: {context.InterfaceMethod?.Name} needs the cluster token (--token or SEGCLUSTER_TOKEN).");
        return context.Invoke();
    }

    // Orleans' own system targets (directory, type manifest) answer clients before any grain runs.
    private static bool IsSegClusterGrain(IIncomingGrainCallContext context) =>
        context.InterfaceMethod?.DeclaringType?.Namespace?.StartsWith("SegCluster", StringComparison.Ordinal) == true;
}
