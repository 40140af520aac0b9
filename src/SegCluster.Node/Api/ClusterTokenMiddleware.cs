using Grpc.AspNetCore.Server;
using SegCluster.Abstractions.Security;
using SegCluster.Cluster.Nodes;
using SegCluster.Collectives;
using SegCluster.Node.Hosting;
using Microsoft.Extensions.Options;

namespace SegCluster.Node.Api;

/// <summary>
/// Which port answers what, deny by default. Kestrel listens on two ports and routing alone ignores which
/// one a request came in on (RequireHost matches the client-chosen Host header, so it is no boundary), hence
/// the local port is checked here, after routing picked the endpoint:
/// <list type="bullet">
/// <item>Collective port: only the gRPC <see cref="CollectiveService"/>, which checks the token itself
/// (Unauthenticated / PermissionDenied); anything else is 404, token or not.</item>
/// <item>HTTP port: never the collective service (404). With Node:Token set, every request needs
/// "authorization: Bearer &lt;token&gt;" except /health, /health/ready (Kubernetes probes) and /metrics
/// (Prometheus scrapers; numbers only, no control): a missing or wrong token gets 401 before any endpoint
/// runs, so nothing changes.</item>
/// <item>Any other port: 404.</item>
/// </list>
/// The token is never logged.
/// </summary>
public sealed class ClusterTokenMiddleware(RequestDelegate next, IOptions<NodeOptions> options)
{
    private static readonly string[] OpenPaths = ["/health", NodeHealthChecks.ReadyPath, "/metrics"];

    public Task InvokeAsync(HttpContext context)
    {
        var node = options.Value;
        var port = context.Connection.LocalPort;
        var collective = IsCollectiveService(context.GetEndpoint());
        if (port == node.CollectivePort) return collective ? next(context) : NotFound(context);
        if (port != node.HttpPort || collective) return NotFound(context);

        if (string.IsNullOrEmpty(node.Token) || OpenPaths.Any(p => context.Request.Path.Equals(p, StringComparison.OrdinalIgnoreCase)))
            return next(context);
        var presented = ClusterToken.FromBearer(context.Request.Headers.Authorization.ToString());
        if (ClusterToken.Matches(presented, node.Token)) return next(context);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return context.Response.WriteAsync(presented is null
            ? "The SegCluster API requires 'authorization: Bearer <cluster token>'.\n"
            : "The cluster token is wrong.\n");
    }

    private static bool IsCollectiveService(Endpoint? endpoint) =>
        endpoint?.Metadata.GetMetadata<GrpcMethodMetadata>()?.ServiceType == typeof(CollectiveService);

    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }
}
