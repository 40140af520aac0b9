using SegCluster.Cluster.Training;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>One training loop per device: a new activation's loop waits for the deactivated one's, bounded, cancellable.</summary>
public sealed class DeviceOccupancyTests
{
    [Fact]
    public async Task A_second_loop_on_a_device_starts_when_the_first_ends_and_other_devices_do_not_wait()
    {
        var devices = new DeviceOccupancy();
        var first = devices.Occupy("n1/0", TimeSpan.Zero, CancellationToken.None);
        Assert.NotNull(first);
        using (var other = devices.Occupy("n1/1", TimeSpan.Zero, CancellationToken.None)) Assert.NotNull(other);

        var second = Task.Run(() => devices.Occupy("n1/0", TimeSpan.FromSeconds(30), CancellationToken.None));
        await Task.Delay(200);
        Assert.False(second.IsCompleted, "the second loop started while the first held the device");
        first!.Dispose();
        first.Dispose();  // twice: released once
        using var lease = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(lease);
        Assert.Null(devices.Occupy("n1/0", TimeSpan.FromMilliseconds(50), CancellationToken.None));  // bounded: the caller goes on
    }

    [Fact]
    public void A_loop_cancelled_while_waiting_stops_waiting()
    {
        var devices = new DeviceOccupancy();
        using var held = devices.Occupy("n1/0", TimeSpan.Zero, CancellationToken.None);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        Assert.ThrowsAny<OperationCanceledException>(() => devices.Occupy("n1/0", TimeSpan.FromMinutes(5), cancel.Token));
    }
}
