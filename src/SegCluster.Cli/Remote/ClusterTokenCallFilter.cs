using SegCluster.Abstractions.Security;

namespace SegCluster.Cli.Remote;

/// <summary>Puts the cluster token into the request context of every grain call this client makes; the
/// silos' ClientTokenFilter refuses client calls without it.</summary>
public sealed class ClusterTokenCallFilter(string token) : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        RequestContext.Set(ClusterToken.RequestContextKey, token);
        return context.Invoke();
    }
}
