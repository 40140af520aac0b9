using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SegCluster.Node.Hosting;

/// <summary>
/// Liveness and readiness apart (Kubernetes probes): /health answers while the process serves HTTP (a restart
/// would not help a node that merely waits for its silo), /health/ready only while this node's Orleans silo
/// is Active in the cluster's membership (a joining, stopping or dead-declared silo takes no traffic).
/// </summary>
public static class NodeHealthChecks
{
    public const string ReadyPath = "/health/ready";
    private const string ReadyTag = "ready";

    public static IServiceCollection AddSegClusterHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<SiloActiveHealthCheck>("silo", tags: [ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapSegClusterHealthChecks(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }
}
