using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace SegCluster.Node.Hosting;

/// <summary>Node:Redis ("HOST:PORT" or a StackExchange.Redis configuration string) as client options.</summary>
public static partial class RedisConnection
{
    /// <param name="setting">Where the address came from, for the error: Node:Redis on a node, --cluster in the CLI.</param>
    public static ConfigurationOptions Parse(string redis, string setting = "Node:Redis")
    {
        try
        {
            var options = ConfigurationOptions.Parse(redis);
            if (options.EndPoints.Count == 0) throw new ArgumentException("no endpoint");
            // Keep retrying while Redis restarts instead of failing the node.
            options.AbortOnConnectFail = false;
            return options;
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{setting} '{Redacted(redis)}' is not a Redis address; use HOST:PORT, e.g. 127.0.0.1:6379 ({e.Message}).", e);
        }
    }

    /// <summary>The address for messages and logs, with a configuration string's password=... replaced by *****.</summary>
    public static string Redacted(string redis) => PasswordSetting().Replace(redis, "$1*****");

    [GeneratedRegex(@"((?:^|,)\s*password\s*=\s*)[^,]*", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordSetting();

    /// <summary>The silo advertises an IP address; a host name is resolved once at start.</summary>
    /// <param name="setting">Where the host came from, for the error.</param>
    public static string ResolveIPv4(string host, string setting = "Node:AdvertiseHost")
    {
        if (IPAddress.TryParse(host, out _)) return host;
        if (host == "localhost") return "127.0.0.1";
        IPAddress[] addresses;
        try { addresses = Dns.GetHostAddresses(host); }
        catch (SocketException e)
        {
            throw new ArgumentException($"{setting} '{host}' does not resolve ({e.Message}); set it to this node's IPv4 address or a name other nodes resolve.", e);
        }
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)?.ToString()
            ?? throw new ArgumentException($"{setting} '{host}' resolves to no IPv4 address ({string.Join(", ", addresses.Select(a => a.ToString()))}); the cluster advertises IPv4: set an IPv4 address.");
    }
}
