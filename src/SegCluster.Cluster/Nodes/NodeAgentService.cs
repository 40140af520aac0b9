using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Grains;

namespace SegCluster.Cluster.Nodes;

/// <summary>
/// Every Node:HeartbeatSeconds: registers this node's workers with the scheduler (idempotent, so a scheduler
/// reactivated from Redis, or one whose state was lost, relearns the inventory) and asks it to check for
/// lost nodes. Any live node drives the check, so it goes on when the scheduler's own node dies.
/// </summary>
public sealed class NodeAgentService(IGrainFactory grains, IOptions<NodeOptions> options, ILogger<NodeAgentService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var node = options.Value;
        var scheduler = grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(node.HeartbeatSeconds));
        do
        {
            try
            {
                await scheduler.RegisterWorkersAsync(node.Workers());
                await scheduler.CheckAsync();
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The scheduler may be moving off a lost node; the next tick tries again.
                logger.LogDebug("Scheduler heartbeat failed: {Error}", e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
