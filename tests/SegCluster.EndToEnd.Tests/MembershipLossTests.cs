using System.Net;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// A Redis that comes back empty (restarted without persistence, or flushed) loses the cluster's membership table:
/// Orleans retries its refresh for ever and the node stays Active in its own view, so before, /health/ready stayed 200
/// while a node started later formed a second cluster of its own. Now readiness fails at once, naming the lost table,
/// and liveness once Node:MembershipLossRestartAfter has passed, so Kubernetes restarts the node and it joins again.
/// </summary>
public sealed class MembershipLossTests
{
    [RequiresRedisFact]
    public async Task A_node_whose_membership_table_was_wiped_turns_unready_then_not_live()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 1,
            environment: new Dictionary<string, string> { ["SEGCLUSTER_Node__MembershipLossRestartAfter"] = "00:00:04" });
        using var http = cluster.Api(token: null);
        Assert.Equal("Healthy", await http.GetStringAsync("/health/ready"));
        Assert.Equal("Healthy", await http.GetStringAsync("/health"));

        await cluster.Redis.FlushAsync();

        var ready = await WaitForStatusAsync(http, "/health/ready", HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
        Assert.Contains("membership table", ready);
        var live = await WaitForStatusAsync(http, "/health", HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
        Assert.Contains("Node:MembershipLossRestartAfter", live);
        Assert.False(cluster.Nodes[0].HasExited, cluster.NodeLogs());
    }

    private static async Task<string> WaitForStatusAsync(HttpClient http, string path, HttpStatusCode status, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using var response = await http.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == status) return body;
            Assert.True(DateTime.UtcNow < deadline, $"{path} still answers {(int)response.StatusCode} {body} after {timeout}");
            await Task.Delay(250);
        }
    }
}
