using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The standalone node process (SegCluster.Node) starts its silo and answers /health and /metrics.</summary>
public sealed class NodeHostTests
{
    [Fact]
    public async Task Node_serves_health_and_metrics_and_stops_cleanly()
    {
        await using var node = await NodeProcess.StartAsync([]);
        var metrics = await node.Http.GetStringAsync("/metrics");
        Assert.Contains("segcluster_process_memory_bytes", metrics);
        Assert.Equal(HttpStatusCode.NotFound, (await node.Http.GetAsync("/dashboard")).StatusCode);
    }

    [Fact]
    public async Task Node_serves_the_Orleans_dashboard_when_enabled()
    {
        await using var node = await NodeProcess.StartAsync(new() { ["SEGCLUSTER_Node__Dashboard__Enabled"] = "true" });
        using var response = await node.Http.GetAsync("/dashboard");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {body}");
        Assert.Contains("<html", body, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A node advertising a loopback address listens on loopback only (its API must not reach the network by default),
    /// unless Node:ListenOnAllInterfaces says otherwise, as the container image does so that `docker run -p` reaches it.</summary>
    [RequiresNonLoopbackAddressFact]
    public async Task A_loopback_node_listens_on_other_interfaces_only_when_told()
    {
        var address = RequiresNonLoopbackAddressFactAttribute.Address!;
        // Any spelling of loopback: "LOCALHOST" listened on every interface while "localhost" did not.
        foreach (var advertise in new[] { "127.0.0.1", "LOCALHOST" })
        {
            await using var local = await NodeProcess.StartAsync(new() { ["SEGCLUSTER_Node__AdvertiseHost"] = advertise });
            using var outside = local.HttpAt(address);
            await Assert.ThrowsAsync<HttpRequestException>(() => outside.GetStringAsync("/health"));
        }

        await using var everywhere = await NodeProcess.StartAsync(new() { ["SEGCLUSTER_Node__ListenOnAllInterfaces"] = "true", ["SEGCLUSTER_Node__Token"] = "t" });
        using var reached = everywhere.HttpAt(address);
        Assert.Equal("Healthy", await reached.GetStringAsync("/health"));
    }

    /// <summary>A node other machines can reach without a token was open to anyone reaching it (the image listens on every
    /// interface and compose published 8080 with no token): it refuses to start, naming the token and the opt-out, and
    /// warns when opted out.</summary>
    [Fact]
    public async Task A_node_listening_beyond_loopback_needs_a_token_or_the_explicit_opt_out()
    {
        var everywhere = new Dictionary<string, string> { ["SEGCLUSTER_Node__ListenOnAllInterfaces"] = "true" };
        var (exit, _, stderr) = await NodeProcess.RunToExitAsync(everywhere, TimeSpan.FromMinutes(1));
        Assert.True(exit == 2, $"exit {exit}: {stderr}");
        Assert.StartsWith("error: Node:Token is not set, and this node listens beyond loopback", stderr);
        Assert.Contains("SEGCLUSTER_Node__Token", stderr);
        Assert.Contains("Node:AllowUnauthenticated=true", stderr);
        Assert.DoesNotContain("   at ", stderr);  // a setting to change, not a crash

        const string warning = "listens beyond loopback without a cluster token";
        await using (var optedOut = await NodeProcess.StartAsync(new(everywhere) { ["SEGCLUSTER_Node__AllowUnauthenticated"] = "true" }))
            Assert.Contains(warning, await optedOut.StopAsync());
        await using (var withToken = await NodeProcess.StartAsync(new(everywhere) { ["SEGCLUSTER_Node__Token"] = "t" }))
            Assert.DoesNotContain(warning, await withToken.StopAsync());
    }

    /// <summary>A setting checked as the host starts (ValidateOnStart) refuses the node with its one line: the host logged the
    /// same exception at Error with its stack before it ("Hosting failed to start").</summary>
    [Fact]
    public async Task A_setting_refused_as_the_host_starts_prints_one_line_and_no_stack()
    {
        var (exit, stdout, stderr) = await NodeProcess.RunToExitAsync(new() { ["SEGCLUSTER_Telemetry__SeriesLimit"] = "0" }, TimeSpan.FromMinutes(1));
        Assert.True(exit == 2, $"exit {exit}: {stdout}{stderr}");
        Assert.Equal("error: Telemetry:SeriesLimit must be a positive number of label sets per metric.", stderr.Trim());
        Assert.DoesNotContain("   at ", stdout);
        Assert.DoesNotContain("Hosting failed to start", stdout);
    }

    /// <summary>A node other machines can reach, with no Node:PathRoots, opens whatever file a spec names: it says so once at
    /// start, naming the setting that confines it; with roots, or on loopback only, it says nothing.</summary>
    [Fact]
    public async Task A_node_listening_beyond_loopback_without_path_roots_warns_once_at_start()
    {
        const string warning = "Spec paths are unconfined: this node listens beyond loopback and Node:PathRoots is not set";
        var everywhere = new Dictionary<string, string> { ["SEGCLUSTER_Node__ListenOnAllInterfaces"] = "true", ["SEGCLUSTER_Node__Token"] = "t" };
        await using (var unconfined = await NodeProcess.StartAsync(everywhere))
        {
            var output = await unconfined.StopAsync();
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, System.Text.RegularExpressions.Regex.Escape(warning)));
            Assert.Contains("Set Node:PathRoots (SEGCLUSTER_Node__PathRoots__0=/data", output);
        }
        await using (var confined = await NodeProcess.StartAsync(new(everywhere) { ["SEGCLUSTER_Node__PathRoots__0"] = Path.GetTempPath() }))
            Assert.DoesNotContain(warning, await confined.StopAsync());
        await using (var local = await NodeProcess.StartAsync([]))
            Assert.DoesNotContain(warning, await local.StopAsync());
    }

    /// <summary>SegCluster.Node.dll on free ports; returns once /health answers "Healthy".</summary>
    private sealed class NodeProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _stdout, _stderr;
        private bool _disposed;

        private NodeProcess(Process process, int http)
        {
            _process = process;
            _stdout = process.StandardOutput.ReadToEndAsync();
            _stderr = process.StandardError.ReadToEndAsync();
            Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = TimeSpan.FromSeconds(10) };
        }

        public HttpClient Http { get; }

        /// <summary>A client of this node's HTTP port at another of this machine's addresses.</summary>
        public HttpClient HttpAt(IPAddress address) =>
            new() { BaseAddress = new Uri($"http://{address}:{Http.BaseAddress!.Port}"), Timeout = TimeSpan.FromSeconds(10) };

        /// <summary>How long a node may take to answer /health: seconds alone, minutes on CI's 2 cores shared with other
        /// test hosts' training.</summary>
        private static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(3);

        public static async Task<NodeProcess> StartAsync(Dictionary<string, string> settings)
        {
            var node = Launch(settings);
            string? health = null;
            var exited = false;
            try
            {
                var deadline = DateTime.UtcNow + StartLimit;
                while (health is null && !node._process.HasExited && DateTime.UtcNow < deadline)
                {
                    health = await node.Http.TryGetStringAsync("/health");  // null: not listening yet, or busy starting
                    if (health is null) await Task.Delay(200);
                }
            }
            finally
            {
                // A node that did not come up must not outlive the test, whatever ended the wait.
                if (health != "Healthy")
                {
                    exited = node._process.HasExited;
                    await node.DisposeAsync();
                }
            }
            if (health != "Healthy")
                Assert.Fail($"health: {health ?? $"no answer within {StartLimit}"}; exited: {exited}\n{await node._stdout}\n{await node._stderr}");
            return node;
        }

        /// <summary>A node that is to refuse to start: its exit code and output.</summary>
        public static async Task<(int Exit, string Stdout, string Stderr)> RunToExitAsync(Dictionary<string, string> settings, TimeSpan limit)
        {
            await using var node = Launch(settings);
            using var cts = new CancellationTokenSource(limit);
            await node._process.WaitForExitAsync(cts.Token);
            return (node._process.ExitCode, await node._stdout, await node._stderr);
        }

        /// <summary>Stops the node; what it wrote to stdout and stderr.</summary>
        public async Task<string> StopAsync()
        {
            await DisposeAsync();
            return await _stdout + await _stderr;
        }

        private static NodeProcess Launch(Dictionary<string, string> settings)
        {
            int http = LoopbackPorts.Next(), collective = LoopbackPorts.Next(), silo = LoopbackPorts.Next(), gateway = LoopbackPorts.Next();
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false }.WithoutCrashDumps();
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SegCluster.Node.dll"));
            info.Environment["SEGCLUSTER_Node__HttpPort"] = http.ToString();
            info.Environment["SEGCLUSTER_Node__CollectivePort"] = collective.ToString();
            info.Environment["SEGCLUSTER_Node__SiloPort"] = silo.ToString();
            info.Environment["SEGCLUSTER_Node__GatewayPort"] = gateway.ToString();
            info.Environment["SEGCLUSTER_Node__NodeId"] = "e2e-node";
            foreach (var (key, value) in settings) info.Environment[key] = value;
            return new NodeProcess(Process.Start(info)!, http);
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed) return;
            _disposed = true;
            await _process.KillAndWaitAsync();
            _ = await _stdout + await _stderr;
            _process.Dispose();
            Http.Dispose();
        }
    }
}

/// <summary>A [Fact] skipped, with the reason, on a machine whose only IPv4 address is loopback.</summary>
public sealed class RequiresNonLoopbackAddressFactAttribute : FactAttribute
{
    /// <summary>An up interface's IPv4 address other than loopback, or null.</summary>
    public static IPAddress? Address { get; } = NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    public RequiresNonLoopbackAddressFactAttribute()
    {
        if (Address is null) Skip = "this machine has no IPv4 address but loopback";
    }
}
