using SegCluster.Cluster.Nodes;
using SegCluster.Node.Hosting;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Node settings that are wrong say which setting and why: a Redis configuration string's password never reaches a
/// message, an advertise host that does not resolve names Node:AdvertiseHost (it was a bare SocketException or
/// "Sequence contains no matching element"), and a heartbeat of 0 s is refused at start (it was "(Parameter 'period')").
/// </summary>
public sealed class NodeSettingsTests
{
    [Theory]
    [InlineData("redis.internal:6379,password=s3cret,ssl=true", "redis.internal:6379,password=*****,ssl=true")]
    [InlineData("password = s3cret", "password = *****")]
    [InlineData("10.0.0.5:6379", "10.0.0.5:6379")]
    public void A_redis_password_is_redacted_for_messages(string redis, string expected) =>
        Assert.Equal(expected, RedisConnection.Redacted(redis));

    [Fact]
    public void A_redis_setting_without_an_endpoint_is_refused_without_its_password()
    {
        var error = Assert.Throws<ArgumentException>(() => RedisConnection.Parse("password=s3cret"));
        Assert.Contains("Node:Redis 'password=*****' is not a Redis address", error.Message);
        Assert.DoesNotContain("s3cret", error.Message);
    }

    [Fact]
    public void An_advertise_host_that_does_not_resolve_names_the_setting()
    {
        var error = Assert.Throws<ArgumentException>(() => RedisConnection.ResolveIPv4("no-such-node.invalid"));
        Assert.Contains("Node:AdvertiseHost 'no-such-node.invalid' does not resolve", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    public void A_heartbeat_that_is_not_a_positive_number_of_seconds_is_refused(double seconds)
    {
        var result = new NodeOptionsValidator().Validate(null, new NodeOptions { HeartbeatSeconds = seconds });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith($"Node:HeartbeatSeconds {seconds} must be a positive number of seconds", StringComparison.Ordinal));
        var defaults = new NodeOptionsValidator().Validate(null, new NodeOptions());
        Assert.DoesNotContain(defaults.Failures ?? [], f => f.StartsWith("Node:HeartbeatSeconds", StringComparison.Ordinal));
    }
}
