using System.Net;
using System.Reflection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans;
using Orleans.Runtime;
using SegCluster.Cluster.Nodes;
using SegCluster.Node.Hosting;

namespace SegCluster.Node.Tests.Hosting;

/// <summary>
/// The membership checks' verdicts over time (MembershipLossTests runs the real case: a flushed Redis). The row is read
/// in the background; the probes only read the verdict, so a store that does not answer never makes a probe wait (before,
/// /health read Redis itself, and a Redis outage timed out every node's liveness probe: every pod restarted).
/// </summary>
public sealed class MembershipRowHealthCheckTests
{
    private static readonly SiloAddress Self = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 1);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task A_store_that_does_not_answer_fails_readiness_and_never_liveness()
    {
        var table = Table.Create(_ => new TaskCompletionSource<MembershipTableData>().Task);  // never answers
        await using var check = await StartAsync(table, SiloStatus.Active);

        // The read's timeout is on the fake clock from the first read on; a tick more of slack for a verdict landing late.
        await AdvanceUntilAsync(check.Monitor.Readiness, HealthStatus.Unhealthy, MembershipRowHealthCheck.ReadTimeout + MembershipRowHealthCheck.ReadEvery);
        Assert.Contains("cannot be read: no answer within 4 s", (await Probe(check.Monitor.Readiness)).Description);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(HealthStatus.Healthy, (await Probe(check.Monitor.Liveness)).Status);
    }

    [Fact]
    public async Task A_missing_row_fails_readiness_at_once_and_liveness_after_the_restart_delay_until_it_is_back()
    {
        var rows = new List<MembershipEntry>();
        var table = Table.Create(_ => Task.FromResult(Data(rows)));
        await using var check = await StartAsync(table, SiloStatus.Active);
        await UntilAsync(check.Monitor.Readiness, HealthStatus.Unhealthy);  // the first read's verdict, no time advanced
        Assert.Contains("missing from the cluster's membership table", (await Probe(check.Monitor.Readiness)).Description);
        Assert.Equal(HealthStatus.Healthy, (await Probe(check.Monitor.Liveness)).Status);

        for (int i = 0; i < 11; i++)  // 55 s: short of Node:MembershipLossRestartAfter, liveness holds (a late read only delays its verdict)
        {
            _time.Advance(MembershipRowHealthCheck.ReadEvery);
            await Task.Delay(50);
        }
        Assert.Equal(HealthStatus.Healthy, (await Probe(check.Monitor.Liveness)).Status);
        await AdvanceUntilAsync(check.Monitor.Liveness, HealthStatus.Unhealthy, TimeSpan.FromSeconds(10));
        Assert.Contains("Node:MembershipLossRestartAfter 60 s", (await Probe(check.Monitor.Liveness)).Description);

        rows.Add(new MembershipEntry { SiloAddress = Self, Status = SiloStatus.Active });
        await AdvanceUntilAsync(check.Monitor.Readiness, HealthStatus.Healthy, MembershipRowHealthCheck.ReadEvery * 2);
        Assert.Equal(HealthStatus.Healthy, (await Probe(check.Monitor.Liveness)).Status);
    }

    [Fact]
    public async Task A_node_still_joining_without_its_row_is_not_restarted()
    {
        var table = Table.Create(_ => Task.FromResult(Data([])));
        await using var check = await StartAsync(table, SiloStatus.Joining);
        await UntilAsync(check.Monitor.Readiness, HealthStatus.Unhealthy);  // the first read's verdict is in before time passes
        _time.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(100);
        Assert.Equal(HealthStatus.Unhealthy, (await Probe(check.Monitor.Readiness)).Status);
        Assert.Equal(HealthStatus.Healthy, (await Probe(check.Monitor.Liveness)).Status);
    }

    private static MembershipTableData Data(List<MembershipEntry> rows) =>
        new([.. rows.Select(r => Tuple.Create(r, "etag"))], new TableVersion(1, "v"));

    private static Task<HealthCheckResult> Probe(IHealthCheck check) => check.CheckHealthAsync(new HealthCheckContext());

    /// <summary>Waits in real time, without advancing the fake clock, until <paramref name="check"/> reports
    /// <paramref name="status"/>: the reads run on the thread pool, and a verdict lands after its read returns.</summary>
    private static async Task UntilAsync(IHealthCheck check, HealthStatus status)
    {
        var deadline = DateTime.UtcNow + RealTimeLimit;
        while ((await Probe(check)).Status != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"still {(await Probe(check)).Status} after {RealTimeLimit} of real time");
            await Task.Delay(10);
        }
    }

    /// <summary>Real time the background reads get to catch up; generous, as CI runs this on 2 loaded cores.</summary>
    private static readonly TimeSpan RealTimeLimit = TimeSpan.FromSeconds(30);

    /// <summary>Advances the fake clock one read period at a time (for at most <paramref name="within"/> more) until
    /// <paramref name="check"/> reports <paramref name="status"/>; the reads run on the thread pool. Between reads nothing
    /// but the clock moves (a read's timeout, 4 s, falls within the period): finer steps only waited longer in real time.</summary>
    private async Task AdvanceUntilAsync(IHealthCheck check, HealthStatus status, TimeSpan within)
    {
        var step = MembershipRowHealthCheck.ReadEvery;
        for (var advanced = TimeSpan.Zero; ; advanced += step)
        {
            for (int i = 0; i < 50 && (await Probe(check)).Status != status; i++) await Task.Delay(10);
            if ((await Probe(check)).Status == status) return;
            Assert.True(advanced <= within, $"still {(await Probe(check)).Status} after {advanced}");
            _time.Advance(step);
        }
    }

    private async Task<Running> StartAsync(IMembershipTable table, SiloStatus status)
    {
        var monitor = new MembershipRowHealthCheck(table, Fake<ILocalSiloDetails>(nameof(ILocalSiloDetails.SiloAddress), Self),
            Fake<ISiloStatusOracle>(nameof(ISiloStatusOracle.CurrentStatus), status), Options.Create(new NodeOptions()), _time);
        await monitor.StartAsync(CancellationToken.None);
        // ExecuteAsync runs on the thread pool: until its first read has begun, its timer and the read's timeout are not
        // on the fake clock yet, and advancing it would move neither.
        await ((Table)(object)table).FirstRead.WaitAsync(RealTimeLimit);
        return new Running(monitor);
    }

    private sealed record Running(MembershipRowHealthCheck Monitor) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await Monitor.StopAsync(CancellationToken.None);
    }

    /// <summary>An interface whose one property <paramref name="property"/> is <paramref name="value"/>.</summary>
    private static T Fake<T>(string property, object value) where T : class
    {
        var fake = DispatchProxy.Create<T, Answering>();
        ((Answering)(object)fake).Answer = m => m.Name == "get_" + property ? value : throw new NotSupportedException(m.Name);
        return fake;
    }

    public class Answering : DispatchProxy
    {
        public Func<MethodInfo, object?> Answer { get; set; } = _ => null;
        protected override object? Invoke(MethodInfo? method, object?[]? args) => Answer(method!);
    }

    /// <summary>A membership table whose row reads answer <c>read</c>.</summary>
    public class Table : DispatchProxy
    {
        private readonly TaskCompletionSource _firstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Func<SiloAddress, Task<MembershipTableData>> _read = _ => throw new NotSupportedException();

        /// <summary>Completes when the first row read begins.</summary>
        public Task FirstRead => _firstRead.Task;

        public static IMembershipTable Create(Func<SiloAddress, Task<MembershipTableData>> read)
        {
            var table = DispatchProxy.Create<IMembershipTable, Table>();
            ((Table)(object)table)._read = read;
            return table;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method!.Name != nameof(IMembershipTable.ReadRowAsync)) throw new NotSupportedException(method.Name);
            _firstRead.TrySetResult();
            return _read((SiloAddress)args![0]!);
        }
    }
}
