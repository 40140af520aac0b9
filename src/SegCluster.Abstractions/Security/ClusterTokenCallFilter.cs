namespace SegCluster.Abstractions.Security;

/// <summary>Puts the cluster token into the request context of every grain call made through this client or
/// silo (the CLI, and the node's own hosted client behind its HTTP API); the silos refuse client calls without it.</summary>
public sealed class ClusterTokenCallFilter(string token) : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        RequestContext.Set(ClusterToken.RequestContextKey, token);
        return context.Invoke();
    }
}
