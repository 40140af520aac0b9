using SegCluster.Abstractions.Security;
using SegCluster.Cluster.Nodes;
using Microsoft.Extensions.Options;

namespace SegCluster.Node.Api;

/// <summary>
/// With Node:Token set, every request on the HTTP port needs "authorization: Bearer &lt;token&gt;" except
/// /health (Kubernetes probes) and /metrics (Prometheus scrapers; numbers only, no control): a missing or
/// wrong token gets 401 before any endpoint runs, so nothing changes. The gRPC collective port checks the
/// same token itself (PermissionDenied / Unauthenticated). The token is never logged.
/// </summary>
public sealed class ClusterTokenMiddleware(RequestDelegate next, IOptions<NodeOptions> options)
{
    private static readonly string[] OpenPaths = ["/health", "/metrics"];

    public Task InvokeAsync(HttpContext context)
    {
        var node = options.Value;
        if (string.IsNullOrEmpty(node.Token) || context.Connection.LocalPort != node.HttpPort
            || OpenPaths.Any(p => context.Request.Path.Equals(p, StringComparison.OrdinalIgnoreCase)))
            return next(context);
        var presented = ClusterToken.FromBearer(context.Request.Headers.Authorization.ToString());
        if (ClusterToken.Matches(presented, node.Token)) return next(context);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return context.Response.WriteAsync(presented is null
            ? "The SegCluster API requires 'authorization: Bearer <cluster token>'.\n"
            : "The cluster token is wrong.\n");
    }
}
