using System.CommandLine;
using SegCluster.Cli.Embedded;
using SegCluster.Cli.Remote;

namespace SegCluster.Cli.Spectral;

/// <summary>Where the spectral commands run: a running cluster when --cluster (or SEGCLUSTER_CLUSTER) is given, else
/// an embedded in-process cluster started for the command.</summary>
public static class SpectralClusterTarget
{
    /// <param name="body">Gets the grain factory and a description of the cluster; returns the exit code.</param>
    public static async Task<int> RunAsync(ParseResult parse, RemoteClusterOptions remote, int embeddedWorkers, string device,
        Func<IGrainFactory, string, Task<int>> body, CancellationToken cancellationToken)
    {
        var redis = parse.GetValue(remote.Cluster);
        if (!string.IsNullOrWhiteSpace(redis))
            return await remote.RunAsync(parse, client => body(client, $"the cluster at {redis}"), cancellationToken);
        EmbeddedCluster cluster;
        try
        {
            cluster = await EmbeddedCluster.StartAsync(embeddedWorkers, device, httpPort: 0, cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        await using (cluster)
            return await body(cluster.Grains, $"an embedded cluster ({embeddedWorkers} worker(s))");
    }
}
