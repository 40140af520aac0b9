using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cli.Commands;
using SegCluster.Cli.Output;
using SegCluster.Cli.Remote;
using Spectre.Console;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// `segcluster cancel ID` on a real in-process node: an id nobody submitted (a typo) is refused, and nothing is recorded
/// for it (it answered "cancelled" and stored a cancelled experiment of that id); a queued experiment is cancelled,
/// and `segcluster status` of it says so without the step counter and gang wait of a run that never started.
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
        Assert.Contains("no experiment or sweep 'no-such-run'", refused.Message);
        Assert.Equal(ExperimentState.Pending, (await node.Grains.GetGrain<IExperimentGrain>("no-such-run").GetStatusAsync()).State);

        // Two workers on a one-worker node: it waits in the queue.
        var ticket = await node.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).SubmitAsync("queued", new ExperimentSpec { Workers = 2 });
        Assert.False(ticket.Started);
        Assert.Equal(ExperimentState.Cancelled, await CancelCommand.CancelAsync(node.Grains, "queued"));

        var shown = StatusText((await ExperimentLookup.FindAsync(node.Grains, "queued"))!.Status);
        Assert.Contains("cancelled (while queued; it never started)", shown);
        Assert.DoesNotContain("waiting for a gang", shown);
        Assert.DoesNotContain("0/0", shown);
    }

    /// <summary>What `segcluster status ID` prints for <paramref name="status"/>.</summary>
    private static string StatusText(ExperimentStatus status)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No });
        console.Profile.Width = 200;
        ExperimentStatusView.Write(console, status);
        return writer.ToString();
    }

    public void Dispose() => _checkpoints.Delete(recursive: true);
}
