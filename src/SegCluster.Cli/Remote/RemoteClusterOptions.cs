using System.CommandLine;
using SegCluster.Abstractions;
using SegCluster.Cluster.Nodes;
using SegCluster.Node.Hosting;

namespace SegCluster.Cli.Remote;

/// <summary>The options every command that talks to a running cluster shares.</summary>
public sealed class RemoteClusterOptions
{
    public Option<string?> Cluster { get; } = new("--cluster")
    {
        Description = "Redis HOST:PORT of the cluster (env SEGCLUSTER_CLUSTER).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SEGCLUSTER_CLUSTER"),
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = "Cluster token (env SEGCLUSTER_TOKEN; prefer the environment: flags show in the process list).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SEGCLUSTER_TOKEN"),
    };

    public Option<string> ClusterId { get; } = new("--cluster-id")
    {
        Description = "Orleans cluster id (Node:ClusterId of the nodes).",
        DefaultValueFactory = _ => NodeOptions.DefaultClusterId,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Cluster);
        command.Options.Add(Token);
        command.Options.Add(ClusterId);
    }

    /// <summary>The cluster these options name, as printed commands name it (<see cref="ClusterAddress.Arguments"/>): the
    /// address given or from SEGCLUSTER_CLUSTER with its password redacted.</summary>
    public ClusterAddress Address(ParseResult parse) =>
        new(RedisConnection.Redacted(parse.GetValue(Cluster) ?? ""), parse.GetValue(ClusterId)!, parse.GetResult(Token) is { Implicit: false });

    /// <summary>Connects, runs <paramref name="body"/>, and turns refusals into one-line errors: 1 = the cluster
    /// refused the request (bad spec, unknown id), 2 = no connection (or it was lost), 3 = wrong or missing token.</summary>
    public async Task<int> RunAsync(ParseResult parse, Func<IClusterClient, Task<int>> body, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(parse, cancellationToken);
        if (connection is null) return 2;
        try
        {
            return await body(connection.Client);
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 3;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {e.UserMessage()}");
            return 1;
        }
        catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException)
        {
            // The gateway went away or stopped answering mid-command (a node restarting, a network partition): whatever
            // was submitted goes on on the cluster; say so instead of a stack trace.
            Console.Error.WriteLine($"error: the cluster stopped answering ({e.Message}); anything already submitted keeps running there: " +
                                    $"check it with `segcluster status {Address(parse).Arguments}`.");
            return 2;
        }
    }

    private async Task<ClusterConnection?> ConnectAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var redis = parse.GetValue(Cluster);
        if (string.IsNullOrWhiteSpace(redis))
        {
            Console.Error.WriteLine("error: --cluster is required: the Redis HOST:PORT the nodes were started with (or set SEGCLUSTER_CLUSTER).");
            return null;
        }
        try
        {
            return await ClusterConnection.ConnectAsync(redis, parse.GetValue(ClusterId)!, parse.GetValue(Token), cancellationToken);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            Console.Error.WriteLine($"error: {e.UserMessage()}");
            return null;
        }
    }
}
