using System.CommandLine;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using SegCluster.Abstractions;
using SegCluster.Cluster.Nodes;
using SegCluster.Node.Hosting;

namespace SegCluster.Cli.Commands;

/// <summary>
/// `segcluster node`: runs a SegCluster node (the same host as SegCluster.Node) in this process until Ctrl+C.
/// Settings: appsettings.json, then SEGCLUSTER_-prefixed environment variables (SEGCLUSTER_Node__Token, …),
/// then these flags. An external-libtorch build loads libtorch from Node:LibTorch (--libtorch sets it), as SegCluster.Node does.
/// </summary>
public static class NodeCommand
{
    public const string Name = "node";

    /// <summary>The settings a node has when neither appsettings.json, the environment nor a flag sets them.</summary>
    private static readonly NodeOptions Defaults = new();

    public static Command Create()
    {
        var redis = new Option<string?>("--redis") { Description = "Redis HOST:PORT: join that cluster (Orleans membership + grain state). Without it the node is a cluster of its own (memory state)." };
        var devices = new Option<string?>("--devices") { Description = "Comma-separated devices, one worker each: cpu,cpu or cuda:0,cuda:1 (default: appsettings.json's Node:Devices, one cpu)." };
        var token = new Option<string?>("--token") { Description = "Cluster token required on the API, the collective and client calls (prefer SEGCLUSTER_Node__Token: flags show in the process list)." };
        var nodeId = new Option<string?>("--node-id") { Description = "Node id (default: the machine name); workers are '{node-id}/{index}'." };
        var advertise = new Option<string?>("--advertise-host") { Description = $"Address other nodes reach this one at (default {Defaults.AdvertiseHost})." };
        var checkpoints = new Option<string?>("--checkpoint-dir") { Description = $"Checkpoint folder, on storage every node reads (shared filesystem; default {Defaults.CheckpointDirectory}, under the working directory)." };
        var pathRoots = new Option<string[]>("--path-root")
        {
            Description = "A folder specs may read and write under (dataset paths, checkpoints to resume or load, output); repeat for more. " +
                          "Node:PathRoots; set it on any node reachable beyond loopback (docs/cluster.md).",
        };
        var ports = new (string Flag, string Setting, string What, Func<NodeOptions, int> Of)[]
            {
                ("--http-port", "HttpPort", "/health, /metrics and /api endpoints (HTTP/1.1)", n => n.HttpPort), ("--collective-port", "CollectivePort", "gRPC collective (HTTP/2)", n => n.CollectivePort),
                ("--silo-port", "SiloPort", "Orleans silo-to-silo connections", n => n.SiloPort), ("--gateway-port", "GatewayPort", "Orleans client gateway (what --cluster clients connect to)", n => n.GatewayPort),
            }
            .Select(p => new NodePort(new Option<int?>(p.Flag) { Description = $"Port of the {p.What}; default {p.Of(Defaults)} (Node:{p.Setting})." }, p.Setting, p.Of)).ToList();
        foreach (var (option, _, _) in ports)
            option.Check(v => v is < 1 or > 65535 ? $"{option.Name} must be a TCP port, 1 to 65535." : null);

        var command = new Command(Name, "Run a SegCluster node: Orleans silo, workers, gRPC collective, /health, /metrics, /api.")
        {
            redis, devices, token, nodeId, advertise, checkpoints, pathRoots,
        };
        foreach (var (option, _, _) in ports) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new Dictionary<string, string?>();
            void Set(string key, string? value) { if (value is not null) settings[$"Node:{key}"] = value; }
            Set("Redis", parse.GetValue(redis));
            Set("Token", parse.GetValue(token));
            Set("NodeId", parse.GetValue(nodeId));
            Set("AdvertiseHost", parse.GetValue(advertise));
            Set("CheckpointDirectory", parse.GetValue(checkpoints));
            Set("LibTorch", parse.GetValue(SegClusterCommandLine.LibTorch));
            foreach (var (option, setting, _) in ports) Set(setting, parse.GetValue(option)?.ToString(CultureInfo.InvariantCulture));
            var roots = parse.GetValue(pathRoots) ?? [];
            for (var i = 0; i < roots.Length; i++) Set($"PathRoots:{i}", roots[i]);
            if (parse.GetValue(devices) is { } list)
            {
                var parts = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                for (var i = 0; i < parts.Length; i++) Set($"Devices:{i}", parts[i]);
            }
            return await RunAsync(settings, ports, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(IReadOnlyDictionary<string, string?> settings, IReadOnlyList<NodePort> ports,
        CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        try
        {
            builder.AddSegClusterNode(settings);
            // --libtorch, else Node:LibTorch from appsettings or SEGCLUSTER_Node__LibTorch, else SEGCLUSTER_LIBTORCH.
            if (SegClusterCommandLine.SelectLibTorch(builder.Configuration["Node:LibTorch"]) is { } exit) return exit;
            // Checked before the silo starts: a failed bind names no port, and Orleans and the host log it at length.
            var node = builder.Configuration.GetSection(NodeOptions.Section).Get<NodeOptions>() ?? new NodeOptions();
            var taken = ports.Select(p => (p.Option.Name, p.Setting, Port: p.Of(node)))
                .Where(p => p.Port is >= 1 and <= 65535 && !PortBinding.IsFree(p.Port)).ToList();  // out of range: NodeOptionsValidator says so
            if (taken.Count > 0)
            {
                Console.Error.WriteLine($"error: {string.Join(", ", taken.Select(p => $"port {p.Port} (Node:{p.Setting})"))} is in use by another process; " +
                                        $"pass {string.Join(", ", taken.Select(p => p.Name))} with a free port, or stop the process holding it.");
                return 2;
            }
            await using var app = builder.Build();
            app.MapSegClusterNode();
            await app.StartAsync(cancellationToken);
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        }
        catch (Exception e) when (StartRefusal.Find(e) is { } refusal)
        {
            Console.Error.WriteLine($"error: {refusal.UserMessage()}");
            return 2;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.UserMessage()}");
            return 2;
        }
        catch (Exception e) when (PortBinding.IsAddressInUse(e))
        {
            // Free when checked, taken by the bind: another process started meanwhile, or holds it on another address only.
            Console.Error.WriteLine($"error: a port of this node is in use ({e.Message}); " +
                                    $"pass {string.Join("/", ports.Select(p => p.Option.Name))} with free ports.");
            return 2;
        }
    }

    /// <summary>A port flag, the Node setting it sets, and where that setting ends up in the merged options.</summary>
    private sealed record NodePort(Option<int?> Option, string Setting, Func<NodeOptions, int> Of);
}
