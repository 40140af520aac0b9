using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>SyncBN statistics of a ring inside one process go through an in-memory group; a ring across processes gets
/// none (its statistics stay on the gRPC ring); groups are shared per ring formation and removed by the last rank.</summary>
public sealed class LocalStatisticsGroupsTests
{
    private const string Here = "http://127.0.0.1:5001", There = "http://127.0.0.1:5002";
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(2);  // a barrier wait, not a timing assertion

    [Fact]
    public async Task Ranks_of_a_ring_in_this_process_sum_in_memory_and_leave_nothing_behind()
    {
        var groups = new LocalStatisticsGroups();
        var leases = Enumerable.Range(0, 3).Select(rank => groups.JoinIfInProcess(Assignment(rank, Here, Here, Here), Worker(Here), Generous, CancellationToken.None)!).ToList();
        Assert.Equal(1, groups.Count);
        var sums = await Task.WhenAll(leases.Select((lease, rank) => Task.Factory.StartNew(() =>
        {
            var buffer = new[] { rank + 1f, 10f * rank };
            lease.Reducer.Sum(buffer);
            return buffer;
        }, TaskCreationOptions.LongRunning)));
        Assert.All(sums, s => Assert.Equal([6f, 30f], s));
        Assert.Equal([0, 1, 2], leases.Select(l => l.Reducer.Rank));
        foreach (var lease in leases) lease.Dispose();
        leases[0].Dispose();  // a second dispose changes nothing
        Assert.Equal(0, groups.Count);
    }

    [Fact]
    public void A_ring_across_processes_or_of_one_rank_gets_no_group()
    {
        var groups = new LocalStatisticsGroups();
        Assert.Null(groups.JoinIfInProcess(Assignment(0, Here, There), Worker(Here), Generous, CancellationToken.None));
        Assert.Null(groups.JoinIfInProcess(Assignment(0, Here), Worker(Here), Generous, CancellationToken.None));
        Assert.Equal(0, groups.Count);
    }

    [Fact]
    public void Another_formation_of_the_ring_gets_its_own_group()
    {
        var groups = new LocalStatisticsGroups();
        using var first = groups.JoinIfInProcess(Assignment(0, Here, Here), Worker(Here), Generous, CancellationToken.None);
        using var second = groups.JoinIfInProcess(Assignment(0, Here, Here) with { RingId = "exp/2" }, Worker(Here), Generous, CancellationToken.None);
        Assert.Equal(2, groups.Count);
    }

    [Fact]
    public void A_cancelled_rank_stops_waiting_for_the_others()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var reducer = new InMemoryReducerGroup(2, Generous).For(0, cancelled.Token);
        Assert.Throws<OperationCanceledException>(() => reducer.Sum([1f]));
    }

    private static TrainingAssignment Assignment(int rank, params string[] endpoints) =>
        new("exp", new ExperimentSpec(), rank, endpoints, "exp", "exp/1");

    private static WorkerInfo Worker(string endpoint) => new("n/0", "n", "cpu", endpoint);
}
