using SegCluster.Cluster.Training;
using SegCluster.Collectives;

namespace SegCluster.Cluster.Tests.Training;

public sealed class NodeReducerGroupsTests
{
    [Fact]
    public async Task A_local_rank_later_than_Timeout_but_within_ConnectTimeout_joins_the_first_sum()
    {
        // The ranks of a node start apart (model building, checkpoint and data loading), as the network ring's do.
        var options = new CollectiveOptions { Timeout = TimeSpan.FromMilliseconds(100), ConnectTimeout = TimeSpan.FromMinutes(1) };
        var groups = new NodeReducerGroups();
        using var early = groups.Join("ring@node", localRanks: 2, options);
        var late = Task.Factory.StartNew(() =>
        {
            Thread.Sleep(500);
            using var lease = groups.Join("ring@node", localRanks: 2, options);
            float[] buffer = [2f];
            lease.Group[1].Sum(buffer);
        }, TaskCreationOptions.LongRunning);
        float[] sum = [1f];
        early.Group[0].Sum(sum);
        await late;
        Assert.Equal([3f], sum);
    }
}
