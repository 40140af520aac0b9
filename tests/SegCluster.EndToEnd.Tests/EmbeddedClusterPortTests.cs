using System.Net;
using System.Net.Sockets;
using SegCluster.Cli.Embedded;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// The embedded node picks its loopback ports free, but another process can bind one before the node does (parallel
/// test hosts did, failing a CI run with "Port … is already in use"): the node then starts on newly picked ports.
/// </summary>
public sealed class EmbeddedClusterPortTests
{
    [Fact]
    public async Task A_picked_port_taken_before_the_node_binds_it_is_picked_again()
    {
        using var taker = new TcpListener(IPAddress.Loopback, 0);
        taker.Start();
        var taken = ((IPEndPoint)taker.LocalEndpoint).Port;
        var picks = 0;
        int Pick()
        {
            if (picks++ == 0) return taken;                    // the first pick, the metrics port, is lost to another process
            using var free = new TcpListener(IPAddress.Loopback, 0);
            free.Start();
            return ((IPEndPoint)free.LocalEndpoint).Port;
        }

        await using var cluster = await EmbeddedCluster.StartAsync(1, "cpu", httpPort: 0, Pick, CancellationToken.None);

        Assert.NotEqual(taken, cluster.HttpPort);
        // At least two sets of four ports: a freshly picked port can be taken again by a parallel test host before the
        // node binds it (seen in CI: 12 picks), which the node also survives by picking once more.
        Assert.True(picks >= 8 && picks % 4 == 0, $"{picks} picks");
        using var http = new HttpClient();
        Assert.True((await http.GetAsync(cluster.MetricsUri)).IsSuccessStatusCode);
    }
}
