using SegCluster.Cluster.Spectral;

namespace SegCluster.Cluster.Tests.Spectral;

/// <summary>
/// A node is killed (no graceful shutdown) while it computes its shard: the analysis completes on the nodes left, the
/// lost shard is computed again elsewhere, and the merged statistics still equal the single-process ones exactly in
/// every count, so no shard is missing or counted twice.
/// </summary>
public sealed class SpectralNodeLossTests
{
    [Fact]
    public async Task Killing_the_node_of_a_running_shard_completes_without_double_counting()
    {
        var analyser = new CountingShardAnalyser();
        await using var cluster = await SpectralShardClusters.StartAsync(silos: 3, analyser);
        // The placement puts shard s on silo s of the silos in address order; block the shard of a silo other than the
        // first one started (it holds the test cluster's membership table).
        var ordered = cluster.Silos.OrderBy(s => s.SiloAddress.ToParsableString(), StringComparer.Ordinal).ToList();
        var victim = ordered.First(s => s != cluster.Silos[0]);
        var shard = ordered.IndexOf(victim);
        analyser.BlockFirst.Add(shard);
        try
        {
            var retried = new List<int>();
            var running = new DistributedSpectralAnalysis(cluster.Client)
                .RunAsync(SpectralShardClusters.Spec, images: 24, shards: 3, batchSize: 8, onRetry: (s, _) => { lock (retried) retried.Add(s); });
            Assert.Equal(shard, await analyser.Blocked.Task.WaitAsync(TimeSpan.FromMinutes(2)));
            await cluster.KillSiloAsync(victim);
            var outcome = await running.WaitAsync(TimeSpan.FromMinutes(3));

            Assert.Equal([shard], retried);
            Assert.Equal(2, analyser.Computations[shard]);
            Assert.DoesNotContain(victim.Name, outcome.Shards.Select(s => s.ComputedBy));
            Assert.Empty(outcome.Statistics.Differences(SpectralShardClusters.SingleProcess(24), 1e-6));
        }
        finally
        {
            analyser.Release.Set();
        }
    }
}
