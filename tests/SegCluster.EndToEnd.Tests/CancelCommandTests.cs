using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cli.Commands;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// `segcluster cancel ID` on a real in-process node: an id nobody submitted (a typo) is refused, and nothing is recorded
/// for it (it answered "cancelled" and stored a cancelled experiment of that id); a queued experiment is cancelled.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class CancelCommandTests : IDisposable
{
    private readonly DirectoryInfo _checkpoints = Directory.CreateTempSubdirectory("segcluster-cancel-");

    [Fact]
    public async Task An_unknown_id_is_refused_and_a_queued_experiment_is_cancelled()
    {
        await using var node = await EmbeddedTestNode.StartAsync(workers: 1, _checkpoints);

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => CancelCommand.CancelAsync(node.Grains, "no-such-run"));
        Assert.Contains("no experiment 'no-such-run'", refused.Message);
        Assert.Equal(ExperimentState.Pending, (await node.Grains.GetGrain<IExperimentGrain>("no-such-run").GetStatusAsync()).State);

        // Two workers on a one-worker node: it waits in the queue.
        var ticket = await node.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).SubmitAsync("queued", new ExperimentSpec { Workers = 2 });
        Assert.False(ticket.Started);
        Assert.Equal(ExperimentState.Cancelled, await CancelCommand.CancelAsync(node.Grains, "queued"));
    }

    public void Dispose() => _checkpoints.Delete(recursive: true);
}
