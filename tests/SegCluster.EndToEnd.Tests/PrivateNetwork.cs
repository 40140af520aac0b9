using System.Diagnostics;
using System.Net;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// A private IPv4 network on this machine, so node processes get addresses of their own and a test can cut one off
/// (a partition) instead of killing it: a Linux bridge in a network namespace of its own (the switch), one namespace
/// per host joined to it by a veth pair, and an address for this test host's namespace on the bridge (redis-server,
/// the CLI and the test's HTTP calls use it). The network is a /24 of 10.0.0.0/8 drawn at random among those no route
/// here overlaps, so nothing leaves the machine and runs side by side do not clash.
/// <see cref="Cut"/> takes a host's switch port down (its cable pulled: packets are dropped, nothing is refused),
/// <see cref="Heal"/> brings it back. Names carry the test host's process id: a run killed before its dispose leaves
/// names the next run recognises by their dead owner and removes, and other live test hosts' networks are left alone.
/// Needs root and iproute2 (<see cref="UnavailableReason"/>).
/// </summary>
internal sealed class PrivateNetwork : IDisposable
{
    private const string NamespacePrefix = "segnet-", LinkPrefix = "sn";
    private static int _instances;

    private readonly string _subnet, _switch, _rootLink;  // _subnet: "10.X.Y."
    private readonly List<NetworkHost> _hosts = [];

    private PrivateNetwork(string subnet, string switchNamespace, string rootLink)
    {
        (_subnet, _switch, _rootLink) = (subnet, switchNamespace, rootLink);
        HostAddress = subnet + "1";
    }

    /// <summary>This (the test host's) namespace's address on the network.</summary>
    public string HostAddress { get; }

    /// <summary>Why partition tests cannot run here, or null when they can (root, iproute2, `ip netns add` works).</summary>
    public static string? UnavailableReason => Probe.Value;

    private static readonly Lazy<string?> Probe = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces are Linux only";
        if (!Environment.IsPrivilegedProcess) return "not root: `ip netns add` and veth links need root (CI and the build machine run tests as root)";
        var name = $"{NamespacePrefix}{Environment.ProcessId}-probe";
        try
        {
            Ip("netns", "add", name);
            Ip("netns", "del", name);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return $"`ip netns add` does not work here (iproute2 installed? network namespaces allowed?): {e.Message}";
        }
    });

    /// <summary>The bridge and this namespace's address, after removing what killed earlier runs left.</summary>
    public static PrivateNetwork Create()
    {
        RemoveLeftovers();
        var id = $"{Environment.ProcessId}-{Interlocked.Increment(ref _instances)}";
        var network = new PrivateNetwork(FreeSubnet(), $"{NamespacePrefix}{id}-sw", $"{LinkPrefix}{id.Replace('-', 'r')}");
        try
        {
            var sw = network._switch;
            Ip("netns", "add", sw);
            Ip("-n", sw, "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0");
            Ip("-n", sw, "link", "set", "br0", "up");
            // This namespace's end is made from inside the switch namespace ("netns PID": the test host's namespace).
            Ip("-n", sw, "link", "add", "root", "type", "veth", "peer", "name", network._rootLink, "netns", $"{Environment.ProcessId}");
            Ip("-n", sw, "link", "set", "root", "master", "br0", "up");
            Ip("addr", "add", $"{network.HostAddress}/24", "dev", network._rootLink);
            Ip("link", "set", network._rootLink, "up");
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>A namespace named after <paramref name="name"/> (at most 15 characters: it names its switch port) with
    /// loopback and one address on the network (.11, .12, … in the order hosts are added).</summary>
    public NetworkHost AddHost(string name)
    {
        var host = new NetworkHost(name, $"{_switch[..^"sw".Length]}{name}", $"{_subnet}{11 + _hosts.Count}");
        _hosts.Add(host);
        Ip("netns", "add", host.Namespace);
        Ip("-n", host.Namespace, "link", "set", "lo", "up");
        Ip("-n", _switch, "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", host.Namespace);
        Ip("-n", _switch, "link", "set", name, "master", "br0", "up");
        Ip("-n", host.Namespace, "addr", "add", $"{host.Address}/24", "dev", "eth0");
        Ip("-n", host.Namespace, "link", "set", "eth0", "up");
        return host;
    }

    /// <summary>Pulls the host's cable: its switch port goes down, so whatever it sends or is sent is dropped.</summary>
    public void Cut(NetworkHost host)
    {
        Ip("-n", _switch, "link", "set", host.Name, "down");
        host.IsCut = true;
    }

    /// <summary>Plugs the host's cable back in.</summary>
    public void Heal(NetworkHost host)
    {
        Ip("-n", _switch, "link", "set", host.Name, "up");
        host.IsCut = false;
    }

    /// <summary>Removes this namespace's link (and so its peer on the bridge) at once, then every namespace of the
    /// network. A host's processes should have ended: a namespace lives on, unnamed, while a process is in it.</summary>
    public void Dispose()
    {
        TryIp("link", "del", _rootLink);
        foreach (var host in _hosts) TryIp("netns", "del", host.Namespace);
        TryIp("netns", "del", _switch);
    }

    /// <summary>Namespaces and links of test hosts that no longer run (killed before their dispose), and the node
    /// processes those hosts left running in them.</summary>
    private static void RemoveLeftovers()
    {
        static bool Orphaned(string digits) => int.TryParse(digits, out var pid) && !Directory.Exists($"/proc/{pid}");
        foreach (var line in Ip("netns", "list").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (!name.StartsWith(NamespacePrefix, StringComparison.Ordinal) || !Orphaned(name[NamespacePrefix.Length..].Split('-')[0])) continue;
            foreach (var pid in Ip("netns", "pids", name).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                try { Process.GetProcessById(int.Parse(pid)).Kill(); }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException) { /* already gone */ }
            }
            TryIp("netns", "del", name);
        }
        foreach (var line in Ip("-o", "link", "show").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(':', 3)[1].Trim().Split('@')[0];  // "8: sn1234r1@if3: <…"
            if (name.StartsWith(LinkPrefix, StringComparison.Ordinal) && name[LinkPrefix.Length..].Split('r') is [var pid, var n]
                && n.All(char.IsAsciiDigit) && Orphaned(pid))
                TryIp("link", "del", name);
        }
    }

    /// <summary>"10.X.Y." of a /24 that no route of this namespace overlaps (each run draws its own).</summary>
    private static string FreeSubnet()
    {
        var used = Ip("-4", "route", "show", "table", "all").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ').FirstOrDefault(t => IPNetwork.TryParse(t.Contains('/') ? t : t + "/32", out _)))
            .OfType<string>().Select(t => IPNetwork.Parse(t.Contains('/') ? t : t + "/32")).ToList();
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var prefix = $"10.{Random.Shared.Next(16, 250)}.{Random.Shared.Next(0, 256)}.";
            var candidate = IPNetwork.Parse(prefix + "0/24");
            if (!used.Any(u => u.Contains(candidate.BaseAddress) || candidate.Contains(u.BaseAddress))) return prefix;
        }
        throw new InvalidOperationException("no free /24 in 10.0.0.0/8 after 100 draws");
    }

    /// <summary>Runs `ip ARGS`; throws with its error output when it fails.</summary>
    private static string Ip(params string[] args)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start ip");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? stdout
            : throw new InvalidOperationException($"ip {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result.Trim()}");
    }

    private static void TryIp(params string[] args)
    {
        try { Ip(args); }
        catch (InvalidOperationException) { /* already gone */ }
    }
}

/// <summary>A host of a <see cref="PrivateNetwork"/>: its network namespace and address.</summary>
internal sealed class NetworkHost(string name, string @namespace, string address)
{
    public string Name { get; } = name;
    public string Namespace { get; } = @namespace;
    public string Address { get; } = address;
    /// <summary>Cut off the network (<see cref="PrivateNetwork.Cut"/>) and not healed since.</summary>
    public bool IsCut { get; internal set; }
}

/// <summary>A [Fact] skipped, with the reason, where redis-server is missing or network namespaces cannot be made
/// (not root, no iproute2, namespaces not allowed).</summary>
public sealed class RequiresNetworkNamespacesFactAttribute : FactAttribute
{
    public RequiresNetworkNamespacesFactAttribute()
    {
        if (!RedisServer.Installed) Skip = RedisServer.MissingReason;
        else if (PrivateNetwork.UnavailableReason is { } reason) Skip = reason;
    }
}
