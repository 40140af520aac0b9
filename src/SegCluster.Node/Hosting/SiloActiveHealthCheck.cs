using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace SegCluster.Node.Hosting;

/// <summary>Healthy while this node's Orleans silo is Active (joined, not shutting down, not declared dead).</summary>
public sealed class SiloActiveHealthCheck(ISiloStatusOracle silo) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(silo.CurrentStatus == SiloStatus.Active
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"The Orleans silo is {silo.CurrentStatus}, not Active."));
}
