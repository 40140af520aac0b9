using System.Net;
using StackExchange.Redis;

namespace SegCluster.Node.Hosting;

/// <summary>Node:Redis ("HOST:PORT" or a StackExchange.Redis configuration string) as client options.</summary>
public static class RedisConnection
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
            throw new ArgumentException($"{setting} '{redis}' is not a Redis address; use HOST:PORT, e.g. 127.0.0.1:6379 ({e.Message}).", e);
        }
    }

    /// <summary>The silo advertises an IP address; a host name is resolved once at start.</summary>
    public static string ResolveIPv4(string host) =>
        IPAddress.TryParse(host, out _) ? host
        : host == "localhost" ? "127.0.0.1"
        : Dns.GetHostAddresses(host).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).ToString();
}
