using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SegCluster.Cluster;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Spectral;
using SegCluster.Cluster.Sweeps;
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

    [Fact]
    public void Failure_detection_that_could_never_declare_a_node_dead_is_refused()
    {
        var result = new NodeOptionsValidator().Validate(null, new NodeOptions { FailureDetection = new() { ProbeTimeoutSeconds = 0, MissedProbes = 0, Votes = 0 } });
        Assert.Contains(result.Failures!, f => f.StartsWith("Node:FailureDetection:Votes 0 must be at least 1", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Node:FailureDetection:ProbeTimeoutSeconds 0 must be a positive number", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Node:FailureDetection:MissedProbes 0 must be at least 1", StringComparison.Ordinal));
    }

    /// <summary>A device this process cannot use stops the node at start, naming it, before its silo joins the cluster (the
    /// node reported healthy and failed every experiment it was given: a CUDA chart or compose file on the CPU image). The
    /// embedded cluster says so in one line.</summary>
    [Fact]
    public async Task A_device_this_process_cannot_use_stops_the_node_at_start()
    {
        var missing = TorchSharp.torch.cuda.is_available() ? $"cuda:{TorchSharp.torch.cuda.device_count()}" : "cuda:0";
        var result = new NodeOptionsValidator().Validate(null, new NodeOptions { Devices = ["cpu", missing, missing] });
        Assert.StartsWith($"Node:Devices names '{missing}': ", Assert.Single(result.Failures!));  // once, not per worker
        Assert.True(new NodeOptionsValidator().Validate(null, new NodeOptions { Devices = ["cpu", "cpu"] }).Succeeded);

        var embedded = await Assert.ThrowsAsync<InvalidOperationException>(() => SegCluster.Cli.Embedded.EmbeddedCluster.StartAsync(2, missing, httpPort: 0, CancellationToken.None));
        Assert.StartsWith($"Node:Devices names '{missing}': Device \"{missing}\"", embedded.Message);
    }

    /// <summary>A node that joins a Redis on another machine while advertising loopback is refused at start: nodes elsewhere
    /// would call it at their own loopback. Redis on this machine, or an advertised address, is fine.</summary>
    [Theory]
    [InlineData("10.0.0.5:6379", "127.0.0.1", "10.0.0.5")]
    [InlineData("redis.internal:6379,password=s3cret", "localhost", "redis.internal")]
    [InlineData("127.0.0.1:6379", "127.0.0.1", null)]
    [InlineData("localhost:6379", "127.0.0.1", null)]
    [InlineData("redis:6379", "node1", null)]
    [InlineData("10.0.0.5:6379", "10.0.0.7", null)]
    public void A_loopback_advertise_host_with_redis_on_another_machine_is_refused(string redis, string advertise, string? refusedHost)
    {
        var result = new NodeOptionsValidator().Validate(null, new NodeOptions { Devices = ["cpu"], Redis = redis, AdvertiseHost = advertise, Token = "t" });
        if (refusedHost is null)
        {
            Assert.True(result.Succeeded, string.Join("; ", result.Failures ?? []));
            return;
        }
        var failure = Assert.Single(result.Failures!);
        Assert.Equal($"Node:Redis names another machine ({refusedHost}) but Node:AdvertiseHost is '{advertise}': other machines cannot reach this node; " +
                     "set Node:AdvertiseHost (--advertise-host) to an address they can.", failure);
    }

    /// <summary>A node other machines can reach (an advertised address that is not loopback, or every interface) had no
    /// token to require unless one was set: it is refused at start without Node:Token or the explicit opt-out.</summary>
    [Theory]
    [InlineData("10.0.0.7", false, null, false, true)]
    [InlineData("node1", false, null, false, true)]
    [InlineData("127.0.0.1", true, "", false, true)]
    [InlineData("10.0.0.7", false, "t", false, false)]
    [InlineData("127.0.0.1", true, null, true, false)]
    [InlineData("127.0.0.1", false, null, false, false)]
    [InlineData("localhost", false, null, false, false)]
    public void A_node_listening_beyond_loopback_without_a_token_is_refused(string advertise, bool everyInterface, string? token, bool allowed, bool refused)
    {
        var result = new NodeOptionsValidator().Validate(null, new NodeOptions
        {
            Devices = ["cpu"], AdvertiseHost = advertise, ListenOnAllInterfaces = everyInterface, Token = token, AllowUnauthenticated = allowed,
        });
        if (!refused)
        {
            Assert.True(result.Succeeded, string.Join("; ", result.Failures ?? []));
            return;
        }
        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith($"Node:Token is not set, and this node listens beyond loopback (Node:AdvertiseHost '{advertise}'", failure);
        Assert.Contains("Set Node:Token (SEGCLUSTER_Node__Token, or --token)", failure);
        Assert.Contains("Node:AllowUnauthenticated=true (SEGCLUSTER_Node__AllowUnauthenticated)", failure);
    }

    /// <summary>Sweeps and SpectralShards settings are checked at start like Node's (they were bound unchecked: a negative
    /// poll interval failed every trial, an AnswerWithin of 45 s brought back the call timeouts it exists to avoid).</summary>
    [Theory]
    [InlineData("SpectralShards:AnswerWithin", "00:00:45", "SpectralShards:AnswerWithin must be positive and at most 00:00:25")]
    [InlineData("Sweeps:PollInterval", "-00:00:01", "Sweeps:PollInterval must be positive")]
    [InlineData("Sweeps:LossWindow", "0", "Sweeps:LossWindow must be at least 1")]
    public void Sweep_and_spectral_settings_out_of_range_are_refused(string key, string value, string message)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSegClusterGrainServices()
            .BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() =>
            key.StartsWith("Sweeps", StringComparison.Ordinal)
                ? services.GetRequiredService<IOptions<SweepOptions>>().Value
                : (object)services.GetRequiredService<IOptions<SpectralShardOptions>>().Value);
        Assert.Contains(message, error.Message);
    }
}

