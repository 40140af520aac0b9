namespace SegCluster.Abstractions.Security;

/// <summary>Puts the cluster token into the request context of every grain call made through this client or
/// silo (the CLI; a node, for its grains, its HTTP API and Orleans' own system targets); silos with a token refuse
/// every call without it, silo-to-silo ones included.</summary>
public sealed class ClusterTokenCallFilter(string token) : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        RequestContext.Set(ClusterToken.RequestContextKey, token);
        return context.Invoke();
    }
}
