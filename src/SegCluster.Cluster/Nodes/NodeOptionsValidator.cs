using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Specs;

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
        foreach (var (setting, port) in new[] { ("HttpPort", options.HttpPort), ("CollectivePort", options.CollectivePort), ("SiloPort", options.SiloPort), ("GatewayPort", options.GatewayPort) })
            if (port is < 1 or > 65535) errors.Add($"Node:{setting} {port} is not a TCP port (1-65535).");
        if (!(options.HeartbeatSeconds > 0) || !double.IsFinite(options.HeartbeatSeconds))
            errors.Add($"Node:HeartbeatSeconds {options.HeartbeatSeconds} must be a positive number of seconds, e.g. 2.");
        if (!(options.FailureDetection.ProbeTimeoutSeconds > 0) || !double.IsFinite(options.FailureDetection.ProbeTimeoutSeconds))
            errors.Add($"Node:FailureDetection:ProbeTimeoutSeconds {options.FailureDetection.ProbeTimeoutSeconds} must be a positive number of seconds, e.g. 2.");
        if (options.FailureDetection.MissedProbes < 1)
            errors.Add($"Node:FailureDetection:MissedProbes {options.FailureDetection.MissedProbes} must be at least 1.");
        if (options.TorchThreads < 0) errors.Add($"Node:TorchThreads {options.TorchThreads} must be 0 (automatic) or positive.");
        if (options.Dashboard.Enabled && !options.Dashboard.Path.StartsWith('/'))
            errors.Add($"Node:Dashboard:Path '{options.Dashboard.Path}' must start with '/', e.g. '/dashboard'.");
        if (options.Dashboard.Enabled && options.Dashboard.Path is "/health" or "/metrics")
            errors.Add($"Node:Dashboard:Path '{options.Dashboard.Path}' is taken; use e.g. '/dashboard'.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
