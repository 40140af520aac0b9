using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Clustering.Redis;
using Orleans.Runtime;
using SegCluster.Cluster.Nodes;

namespace SegCluster.Node.Hosting;

/// <summary>
/// Whether the cluster's membership table still lists this node. A clustering store that lost its data (a Redis
/// restarted without persistence, or flushed) loses the table: Orleans retries its refresh for ever and the silo stays
/// Active in its own view, while a node started after it creates a new table with itself alone, so two clusters run
/// side by side, both ready. Readiness (<see cref="Readiness"/>) fails while the row is missing or the store cannot be
/// read. Liveness (<see cref="Liveness"/>) fails once the store has answered without this node's row for
/// Node:MembershipLossRestartAfter, so the orchestrator restarts the node and it joins again; a store that cannot be
/// reached does not fail it (a restart would not bring the store back).
/// The row is read in the background every <see cref="ReadEvery"/>, each read bounded by <see cref="ReadTimeout"/>; the
/// probes only look at the last verdict, so a slow or unreachable store never makes a probe itself time out.
/// </summary>
public sealed class MembershipRowHealthCheck(
    IMembershipTable table, ILocalSiloDetails silo, ISiloStatusOracle status, IOptions<NodeOptions> options, TimeProvider time) : BackgroundService
{
    public static readonly TimeSpan ReadEvery = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(4);

    private volatile Verdict _last = new(null, null);

    public IHealthCheck Readiness => new Check(() => _last.Problem is { } problem ? HealthCheckResult.Unhealthy(problem) : HealthCheckResult.Healthy());

    public IHealthCheck Liveness => new Check(() =>
    {
        var (problem, missingSince) = _last;
        var restartAfter = options.Value.MembershipLossRestartAfter;
        return missingSince is { } since && time.GetUtcNow() - since is var missingFor && missingFor >= restartAfter
            ? HealthCheckResult.Unhealthy($"{problem} for {missingFor.TotalSeconds:0} s (Node:MembershipLossRestartAfter {restartAfter.TotalSeconds:0} s): restart the node to join again")
            : HealthCheckResult.Healthy();
    });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ReadEvery, time);
        do
        {
            var (problem, missing) = await ReadRowAsync(stoppingToken);
            // The row has been missing since the first read that found it so; any other verdict resets the clock.
            _last = new Verdict(problem, missing ? _last.MissingSince ?? time.GetUtcNow() : null);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <returns>What is wrong (null: the row is there and Active), and whether the store answered without the row while
    /// this silo is Active (before, a node still joining: its row is written as it joins).</returns>
    private async Task<(string? Problem, bool Missing)> ReadRowAsync(CancellationToken stoppingToken)
    {
        using var timeout = new CancellationTokenSource(ReadTimeout, time);
        using var read = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        MembershipTableData data;
        try
        {
            data = await table.ReadRowAsync(silo.SiloAddress, read.Token).WaitAsync(read.Token) ?? throw new InvalidDataException("the table answered nothing");
        }
        catch (RedisClusteringException e)
        {
            // Orleans' Redis table throws this when the table's version key is gone: the store answers, the table is lost.
            return ($"the cluster's membership table is gone from the clustering store ({e.Message})", status.CurrentStatus == SiloStatus.Active);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            var why = e is OperationCanceledException ? $"no answer within {ReadTimeout.TotalSeconds:0} s" : e.Message;
            return ($"the clustering store cannot be read: {why}", false);
        }
        var entry = data.Members.Select(m => m.Item1).FirstOrDefault(m => m.SiloAddress.Equals(silo.SiloAddress));
        if (entry is null) return ($"this node ({silo.SiloAddress}) is missing from the cluster's membership table", status.CurrentStatus == SiloStatus.Active);
        return entry.Status == SiloStatus.Active ? (null, false) : ($"this node is {entry.Status} in the cluster's membership table, not Active", false);
    }

    private sealed record Verdict(string? Problem, DateTimeOffset? MissingSince);

    private sealed class Check(Func<HealthCheckResult> result) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) => Task.FromResult(result());
    }
}
