using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SegCluster.Node.Hosting;

/// <summary>
/// Liveness and readiness apart (Kubernetes probes): /health answers while the process serves HTTP (a restart
/// would not help a node that merely waits for its silo), unless the cluster's membership table has lost this node
/// (<see cref="MembershipRowHealthCheck"/>: only a restart joins it again); /health/ready only while this node's Orleans
/// silo is Active and the membership table lists it so (a joining, stopping or dead-declared silo takes no traffic).
/// </summary>
public static class NodeHealthChecks
{
    public const string ReadyPath = "/health/ready";
    private const string ReadyTag = "ready";
    private const string LiveTag = "live";

    public static IServiceCollection AddSegClusterHealthChecks(this IServiceCollection services)
    {
        services.AddSingleton<MembershipRowHealthCheck>();
        services.AddHostedService(sp => sp.GetRequiredService<MembershipRowHealthCheck>());
        services.AddHealthChecks()
            .AddCheck<SiloActiveHealthCheck>("silo", tags: [ReadyTag])
            .Add(new HealthCheckRegistration("membership", sp => sp.GetRequiredService<MembershipRowHealthCheck>().Readiness, null, [ReadyTag]))
            .Add(new HealthCheckRegistration("membership-lost", sp => sp.GetRequiredService<MembershipRowHealthCheck>().Liveness, null, [LiveTag]));
        return services;
    }

    public static IEndpointRouteBuilder MapSegClusterHealthChecks(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag), ResponseWriter = WriteStatusAsync });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteStatusAsync });
        return app;
    }

    /// <summary>The status ("Healthy"), and for a node that is not, what is wrong: whoever reads a failing probe
    /// (kubectl describe, curl) sees why.</summary>
    private static Task WriteStatusAsync(HttpContext context, HealthReport report)
    {
        var problems = report.Entries.Values.Where(e => e.Status != HealthStatus.Healthy).Select(e => e.Description).OfType<string>();
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync(string.Join("; ", [report.Status.ToString(), .. problems]));
    }
}
