using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
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
/// reached does not fail it (a restart would not bring the store back). One read of the row per probe round.
/// </summary>
public sealed class MembershipRowHealthCheck(
    IMembershipTable table, ILocalSiloDetails silo, ISiloStatusOracle status, IOptions<NodeOptions> options, TimeProvider time)
{
    /// <summary>Reads within this long of the last serve both probes (readiness and liveness often come together).</summary>
    private static readonly TimeSpan ReadReuse = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _reading = new(1, 1);
    private (DateTimeOffset At, string? Problem, bool Missing) _last = (DateTimeOffset.MinValue, null, false);
    private DateTimeOffset? _missingSince;

    public IHealthCheck Readiness => new Check(this, live: false);

    public IHealthCheck Liveness => new Check(this, live: true);

    private async Task<HealthCheckResult> CheckAsync(bool live, CancellationToken cancellationToken)
    {
        var (problem, missing, missingFor) = await ReadAsync(cancellationToken);
        if (problem is null) return HealthCheckResult.Healthy();
        if (!live) return HealthCheckResult.Unhealthy(problem);
        var restartAfter = options.Value.MembershipLossRestartAfter;
        return missing && missingFor >= restartAfter
            ? HealthCheckResult.Unhealthy($"{problem} for {missingFor.TotalSeconds:0} s (Node:MembershipLossRestartAfter {restartAfter.TotalSeconds:0} s): restart the node to join again")
            : HealthCheckResult.Healthy(problem);
    }

    private async Task<(string? Problem, bool Missing, TimeSpan MissingFor)> ReadAsync(CancellationToken cancellationToken)
    {
        await _reading.WaitAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow();
            if (now - _last.At >= ReadReuse)
            {
                var (problem, missing) = await ReadRowAsync(cancellationToken);
                _last = (now, problem, missing);
            }
            _missingSince = _last.Missing ? _missingSince ?? now : null;
            return (_last.Problem, _last.Missing, _last.Missing ? now - _missingSince!.Value : TimeSpan.Zero);
        }
        finally
        {
            _reading.Release();
        }
    }

    /// <returns>What is wrong (null: the row is there and Active), and whether the store answered without the row.</returns>
    private async Task<(string? Problem, bool Missing)> ReadRowAsync(CancellationToken cancellationToken)
    {
        MembershipTableData data;
        try
        {
            data = await table.ReadRowAsync(silo.SiloAddress, cancellationToken);
        }
        catch (Exception e) when (e.GetType().Name == "RedisClusteringException")
        {
            // Orleans' Redis table throws this when the table's version key is gone: the store answers, the table is lost.
            return ($"the cluster's membership table is gone from the clustering store ({e.Message})", status.CurrentStatus == SiloStatus.Active);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return ($"the clustering store cannot be read: {e.Message}", false);
        }
        var entry = data.Members.Select(m => m.Item1).FirstOrDefault(m => m.SiloAddress.Equals(silo.SiloAddress));
        // Missing before the silo is Active is a node still joining (its row is written as it joins), not a lost table.
        if (entry is null) return ($"this node ({silo.SiloAddress}) is missing from the cluster's membership table", status.CurrentStatus == SiloStatus.Active);
        return entry.Status == SiloStatus.Active ? (null, false) : ($"this node is {entry.Status} in the cluster's membership table, not Active", false);
    }

    private sealed class Check(MembershipRowHealthCheck monitor, bool live) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            monitor.CheckAsync(live, cancellationToken);
    }
}
