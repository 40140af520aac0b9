using Grpc.AspNetCore.Server;
using Grpc.Core;
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
/// <item>Collective port: only the gRPC <see cref="CollectiveService"/>; anything else is 404, token or not. With
/// Node:Token set, a call without the Bearer token is answered here, before the service reads its message (up to
/// 4 MB per call), with gRPC status Unauthenticated (missing) or PermissionDenied (wrong); the service checks it again
/// for hosts without this middleware.</item>
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
        if (port == node.CollectivePort)
            return !collective ? NotFound(context) : Authorized(context, node.Token, out var none) ? next(context) : GrpcRefused(context, none);
        if (port != node.HttpPort || collective) return NotFound(context);

        if (OpenPaths.Any(p => context.Request.Path.Equals(p, StringComparison.OrdinalIgnoreCase)) || Authorized(context, node.Token, out var missing))
            return next(context);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return context.Response.WriteAsync(missing
            ? "The SegCluster API requires 'authorization: Bearer <cluster token>'.\n"
            : "The cluster token is wrong.\n");
    }

    /// <summary>Whether the request may pass: no token is configured, or it carries it as a Bearer header. When not,
    /// <paramref name="missing"/> says whether it gave none (else a wrong one).</summary>
    private static bool Authorized(HttpContext context, string? token, out bool missing)
    {
        var presented = ClusterToken.FromBearer(context.Request.Headers.Authorization.ToString());
        missing = presented is null;
        return string.IsNullOrEmpty(token) || ClusterToken.Matches(presented, token);
    }

    /// <summary>A trailers-only gRPC answer (HTTP 200, grpc-status in the headers), sent without reading the body.</summary>
    private static Task GrpcRefused(HttpContext context, bool missing)
    {
        var (status, message) = missing
            ? (StatusCode.Unauthenticated, "The collective service requires 'authorization: Bearer <cluster token>'.")
            : (StatusCode.PermissionDenied, "The cluster token is wrong.");
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = message;
        return Task.CompletedTask;
    }

    private static bool IsCollectiveService(Endpoint? endpoint) =>
        endpoint?.Metadata.GetMetadata<GrpcMethodMetadata>()?.ServiceType == typeof(CollectiveService);

    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }
}
