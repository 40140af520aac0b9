using SegCluster.Cluster.Nodes;

namespace SegCluster.EndToEnd.Tests;

/// <summary>What `--help` tells a user who has not read the docs.</summary>
public sealed class HelpTextTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>The node's ports had no default in its help, so where /metrics answers was a guess.</summary>
    [Fact]
    public async Task Node_help_gives_each_ports_default()
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "node", "--help");
        Assert.True(exit == 0, stderr);
        var defaults = new NodeOptions();
        foreach (var (flag, port, setting) in new[]
                 {
                     ("--http-port", defaults.HttpPort, "HttpPort"), ("--collective-port", defaults.CollectivePort, "CollectivePort"),
                     ("--silo-port", defaults.SiloPort, "SiloPort"), ("--gateway-port", defaults.GatewayPort, "GatewayPort"),
                 })
            Assert.Contains(stdout.Split('\n'), line => line.TrimStart().StartsWith(flag, StringComparison.Ordinal) && line.Contains($"default {port} (Node:{setting})"));
    }
}
