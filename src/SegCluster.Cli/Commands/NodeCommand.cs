using System.CommandLine;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SegCluster.Node.Hosting;

namespace SegCluster.Cli.Commands;

/// <summary>
/// `segcluster node`: runs a SegCluster node (the same host as SegCluster.Node) in this process until Ctrl+C.
/// Settings: appsettings.json, then SEGCLUSTER_-prefixed environment variables (SEGCLUSTER_Node__Token, …),
/// then these flags.
/// </summary>
public static class NodeCommand
{
    public static Command Create()
    {
        var redis = new Option<string?>("--redis") { Description = "Redis HOST:PORT: join that cluster (Orleans membership + grain state). Without it the node is a cluster of its own (memory state)." };
        var devices = new Option<string?>("--devices") { Description = "Comma-separated devices, one worker each: cpu,cpu or cuda:0,cuda:1." };
        var token = new Option<string?>("--token") { Description = "Cluster token required on the API, the collective and client calls (prefer SEGCLUSTER_Node__Token: flags show in the process list)." };
        var nodeId = new Option<string?>("--node-id") { Description = "Node id (default: the machine name); workers are '{node-id}/{index}'." };
        var advertise = new Option<string?>("--advertise-host") { Description = "Address other nodes reach this one at (default 127.0.0.1)." };
        var checkpoints = new Option<string?>("--checkpoint-dir") { Description = "Checkpoint folder, on storage every node reads (shared filesystem)." };
        var ports = new[] { ("--http-port", "HttpPort", "/health, /metrics and /api"), ("--collective-port", "CollectivePort", "gRPC collective (HTTP/2)"),
            ("--silo-port", "SiloPort", "Orleans silo-to-silo"), ("--gateway-port", "GatewayPort", "Orleans client gateway") }
            .Select(p => (Option: new Option<int?>(p.Item1) { Description = $"Port of the {p.Item3}." }, Setting: p.Item2)).ToList();
        foreach (var (option, _) in ports)
            option.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1 or > 65535) r.AddError($"{option.Name} must be a TCP port, 1 to 65535."); });

        var command = new Command("node", "Run a SegCluster node: Orleans silo, workers, gRPC collective, /health, /metrics, /api.")
        {
            redis, devices, token, nodeId, advertise, checkpoints,
        };
        foreach (var (option, _) in ports) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new Dictionary<string, string?>();
            void Set(string key, string? value) { if (value is not null) settings[$"Node:{key}"] = value; }
            Set("Redis", parse.GetValue(redis));
            Set("Token", parse.GetValue(token));
            Set("NodeId", parse.GetValue(nodeId));
            Set("AdvertiseHost", parse.GetValue(advertise));
            Set("CheckpointDirectory", parse.GetValue(checkpoints));
            foreach (var (option, setting) in ports) Set(setting, parse.GetValue(option)?.ToString(CultureInfo.InvariantCulture));
            if (parse.GetValue(devices) is { } list)
            {
                var parts = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                for (var i = 0; i < parts.Length; i++) Set($"Devices:{i}", parts[i]);
            }
            return await RunAsync(settings, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        try
        {
            builder.AddSegClusterNode(settings);
            await using var app = builder.Build();
            app.MapSegClusterNode();
            await app.StartAsync(cancellationToken);
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        }
        catch (Exception e) when (e is OptionsValidationException or ArgumentException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
