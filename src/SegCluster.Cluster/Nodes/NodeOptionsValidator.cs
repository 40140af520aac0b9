using System.Net;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Specs;
using SegCluster.Vision.Devices;
using StackExchange.Redis;

namespace SegCluster.Cluster.Nodes;

/// <summary>Start-up checks of <see cref="NodeOptions"/>; each message names the setting.</summary>
public sealed class NodeOptionsValidator : IValidateOptions<NodeOptions>
{
    public ValidateOptionsResult Validate(string? name, NodeOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.NodeId) || options.NodeId.Contains('/'))
            errors.Add($"Node:NodeId '{options.NodeId}' must be non-empty and contain no '/'.");
        if (options.Devices.Count == 0)
            errors.Add("Node:Devices is empty; list at least one device, e.g. 'cpu'.");
        foreach (var device in options.Devices.Where(d => !SpecValidation.IsDevice(d)))
            errors.Add($"Node:Devices contains '{device}', which is not a device; use 'cpu' or 'cuda:N'.");
        errors.AddRange(UnusableDevices(options.Devices));
        foreach (var (setting, port) in new[] { ("HttpPort", options.HttpPort), ("CollectivePort", options.CollectivePort), ("SiloPort", options.SiloPort), ("GatewayPort", options.GatewayPort) })
            if (port is < 1 or > 65535) errors.Add($"Node:{setting} {port} is not a TCP port (1-65535).");
        if (!(options.HeartbeatSeconds > 0) || !double.IsFinite(options.HeartbeatSeconds))
            errors.Add($"Node:HeartbeatSeconds {options.HeartbeatSeconds} must be a positive number of seconds, e.g. 2.");
        if (!(options.FailureDetection.ProbeTimeoutSeconds > 0) || !double.IsFinite(options.FailureDetection.ProbeTimeoutSeconds))
            errors.Add($"Node:FailureDetection:ProbeTimeoutSeconds {options.FailureDetection.ProbeTimeoutSeconds} must be a positive number of seconds, e.g. 2.");
        if (options.ShutdownTimeout <= TimeSpan.Zero)
            errors.Add($"Node:ShutdownTimeout {options.ShutdownTimeout} must be a positive time span, e.g. 00:00:45.");
        if (options.MembershipLossRestartAfter <= TimeSpan.Zero)
            errors.Add($"Node:MembershipLossRestartAfter {options.MembershipLossRestartAfter} must be a positive time span, e.g. 00:01:00.");
        if (options.FailureDetection.MissedProbes < 1)
            errors.Add($"Node:FailureDetection:MissedProbes {options.FailureDetection.MissedProbes} must be at least 1.");
        if (options.FailureDetection.Votes < 1)
            errors.Add($"Node:FailureDetection:Votes {options.FailureDetection.Votes} must be at least 1.");
        if (options.TorchThreads < 0) errors.Add($"Node:TorchThreads {options.TorchThreads} must be 0 (automatic) or positive.");
        if (options.Dashboard.Enabled && !options.Dashboard.Path.StartsWith('/'))
            errors.Add($"Node:Dashboard:Path '{options.Dashboard.Path}' must start with '/', e.g. '/dashboard'.");
        if (options.Dashboard.Enabled && options.Dashboard.Path is "/health" or "/metrics")
            errors.Add($"Node:Dashboard:Path '{options.Dashboard.Path}' is taken; use e.g. '/dashboard'.");
        foreach (var (root, i) in options.PathRoots.Select((root, i) => (root, i)))
            if (string.IsNullOrWhiteSpace(root))
                errors.Add($"Node:PathRoots:{i} is empty; give an absolute directory that specs may name paths under (e.g. /data), or leave the entry out.");
            else if (!Path.IsPathFullyQualified(root))
                errors.Add($"Node:PathRoots:{i} '{root}' is relative; give an absolute directory (e.g. /data): a relative root would move with the node's working directory.");
        if (!string.IsNullOrWhiteSpace(options.StateDirectory) && !string.IsNullOrWhiteSpace(options.Redis))
            errors.Add("Node:StateDirectory is for a node without Node:Redis: with Redis the grain state is kept there; set one of the two.");
        // Nodes find each other at their advertised addresses: with Redis on another machine, nodes elsewhere join too and
        // would call this one at their own loopback.
        if (NodeOptions.IsLoopbackHost(options.AdvertiseHost) && RedisHosts(options.Redis).FirstOrDefault(h => !NodeOptions.IsLoopbackHost(h)) is { } redisHost)
            errors.Add($"Node:Redis names another machine ({redisHost}) but Node:AdvertiseHost is '{options.AdvertiseHost}': other machines cannot reach " +
                       "this node; set Node:AdvertiseHost (--advertise-host) to an address they can.");
        // Without a token every port is open to whoever reaches it: submit, cancel, grain calls, the collective.
        if (options.OpenBeyondLoopback() && !options.AllowUnauthenticated)
            errors.Add($"Node:Token is not set, and this node listens beyond loopback (Node:AdvertiseHost '{options.AdvertiseHost}'" +
                       (options.ListenOnAllInterfaces ? ", Node:ListenOnAllInterfaces" : "") + "): anyone who reaches its ports could submit, " +
                       "cancel and read runs. Set Node:Token (SEGCLUSTER_Node__Token, or --token) to a secret shared by the cluster's " +
                       "nodes and clients, or set Node:AllowUnauthenticated=true (SEGCLUSTER_Node__AllowUnauthenticated) on a trusted network.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>CUDA devices this process cannot use (a CPU build of libtorch, cuda:3 on a 2-GPU machine): checked at start,
    /// before the silo joins the cluster, or the node reported healthy and failed every experiment it was given. libtorch
    /// is selected before the host is built (Node:LibTorch), so asking it here loads the right one.</summary>
    private static IEnumerable<string> UnusableDevices(IEnumerable<string> devices) =>
        devices.Where(d => SpecValidation.IsDevice(d)).Distinct()
            .Select(d => DeviceProblem(d) is { } problem ? $"Node:Devices names '{d}': {problem}" : null).OfType<string>();

    /// <summary>Why this process cannot train on <paramref name="device"/> (a device string <see cref="SpecValidation.IsDevice"/>
    /// accepts): CUDA on a CPU build of libtorch, a GPU index the machine lacks; null when it can. An embedded run asks
    /// before its banner, naming its own option; a node asks for each of Node:Devices.</summary>
    public static string? DeviceProblem(string device)
    {
        if (device == "cpu") return null;
        try
        {
            _ = DeviceParser.Parse(device);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return e.UserMessage();
        }
    }

    /// <summary>The hosts of Node:Redis's endpoints; none for an empty or malformed setting (RedisConnection names the latter).</summary>
    private static IEnumerable<string> RedisHosts(string? redis)
    {
        if (string.IsNullOrWhiteSpace(redis)) return [];
        try
        {
            return ConfigurationOptions.Parse(redis).EndPoints.Select(e => e switch
            {
                DnsEndPoint dns => dns.Host,
                IPEndPoint ip => ip.Address.ToString(),
                _ => e.ToString() ?? "",
            }).ToList();
        }
        catch (ArgumentException)
        {
            return [];
        }
    }
}
