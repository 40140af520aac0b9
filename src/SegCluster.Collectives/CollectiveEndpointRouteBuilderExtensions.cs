using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace SegCluster.Collectives;

public static class CollectiveEndpointRouteBuilderExtensions
{
    /// <summary>Maps <see cref="CollectiveService"/>. Requires <c>AddSegClusterCollectives</c>.</summary>
    public static IEndpointRouteBuilder MapSegClusterCollectives(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGrpcService<CollectiveService>();
        return endpoints;
    }
}
