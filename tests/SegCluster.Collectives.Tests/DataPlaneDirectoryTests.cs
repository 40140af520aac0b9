using SegCluster.Collectives.Tcp;

namespace SegCluster.Collectives.Tests;

/// <summary>The rendezvous directory keeps no state for rings that never form or were closed long ago.</summary>
public sealed class DataPlaneDirectoryTests
{
    [Fact]
    public async Task A_lookup_that_gives_up_on_a_rank_that_never_registers_leaves_no_slot()
    {
        var directory = new DataPlaneDirectory();
        using var gaveUp = new CancellationTokenSource();
        var first = directory.LocateAsync("never-formed", 1, gaveUp.Token);
        var second = directory.LocateAsync("never-formed", 1, CancellationToken.None);
        gaveUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Equal(1, directory.SlotCount); // the other lookup still waits, and is answered on registration

        directory.Register("never-formed", 1, 4242);
        Assert.Equal(4242, await second);

        using var timeout = new CancellationTokenSource();
        var abandoned = directory.LocateAsync("also-never", 0, timeout.Token);
        timeout.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal(1, directory.SlotCount); // only the registered rank
    }

    [Fact]
    public async Task Closed_ranks_are_refused_and_only_the_latest_are_remembered()
    {
        var directory = new DataPlaneDirectory();
        for (var ring = 0; ring <= ClosedRanks.Capacity; ring++)
            directory.Close($"ring-{ring}", 0);

        var latest = await Assert.ThrowsAsync<InvalidOperationException>(() => directory.LocateAsync($"ring-{ClosedRanks.Capacity}", 0, CancellationToken.None));
        Assert.Contains("closed", latest.Message);

        // The oldest was forgotten: its lookup waits (here: until cancelled) instead of failing at once.
        using var cancelled = new CancellationTokenSource();
        var oldest = directory.LocateAsync("ring-0", 0, cancelled.Token);
        Assert.False(oldest.IsCompleted);
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => oldest);
    }
}
