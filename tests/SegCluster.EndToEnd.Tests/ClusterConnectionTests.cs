using System.Net;
using System.Net.Sockets;
using SegCluster.Cli.Remote;

namespace SegCluster.EndToEnd.Tests;

/// <summary>`--cluster` naming a port where no Redis listens (a typo, Redis not started) printed StackExchange.Redis'
/// twenty-line timeout dump; the error now says that nothing answered there and which option names the address.</summary>
public sealed class ClusterConnectionTests
{
    [Fact]
    public async Task No_redis_at_the_address_is_named_as_such()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ClusterConnection.ConnectAsync($"127.0.0.1:{closedPort}", "segcluster", token: null, CancellationToken.None));

        Assert.StartsWith($"no Redis answered at 127.0.0.1:{closedPort}", error.Message);
        Assert.Contains("--cluster", error.Message);
        Assert.DoesNotContain("backlog", error.Message);
    }
}
