using System.Diagnostics;

namespace SegCluster.EndToEnd.Tests;

/// <summary>One `segcluster node --redis …` process on free loopback ports, or inside a host of a
/// <see cref="PrivateNetwork"/> advertising that host's address; <see cref="KillHard"/> is kill -9.</summary>
internal sealed class ClusterNodeProcess : IAsyncDisposable
{
    /// <summary>Lines shown in a failure message: the last ones say what the node was doing.</summary>
    private const int ShownLines = 60;

    private readonly Process _process;
    /// <summary>Everything the node printed (a test's nodes print little: Orleans logs errors only).</summary>
    private readonly List<string> _lines = [];

    private ClusterNodeProcess(Process process, string nodeId, NetworkHost? host, int httpPort, int collectivePort)
    {
        _process = process;
        (NodeId, Host, HttpPort, CollectivePort) = (nodeId, host, httpPort, collectivePort);
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string NodeId { get; }
    /// <summary>The private-network host the node runs in; null: this machine's loopback.</summary>
    public NetworkHost? Host { get; }
    /// <summary>Where the node's ports are reached.</summary>
    public string Address => Host?.Address ?? "127.0.0.1";
    public int HttpPort { get; }
    public int CollectivePort { get; }
    public bool HasExited => _process.HasExited;

    /// <param name="devices">The node's devices, comma-separated (one worker each).</param>
    /// <param name="host">Runs the node in this host's namespace (`ip netns exec`), advertising its address.</param>
    /// <param name="environment">Settings for this node only (SEGCLUSTER_… variables), over the ones every test node gets.</param>
    public static ClusterNodeProcess Start(string redis, string nodeId, string token, string checkpointDirectory, string devices = "cpu",
        NetworkHost? host = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        int http = LoopbackPorts.Next(), collective = LoopbackPorts.Next(), silo = LoopbackPorts.Next(), gateway = LoopbackPorts.Next();
        var info = new ProcessStartInfo(host is null ? "dotnet" : "ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false }
            .WithoutCrashDumps();
        // `ip netns exec` execs dotnet in the namespace: the process started here is the node itself, as kill -9 needs.
        string[] launcher = host is null ? [] : ["netns", "exec", host.Namespace, "dotnet"];
        string[] advertise = host is null ? [] : ["--advertise-host", host.Address];
        foreach (var a in launcher.Concat([Path.Combine(AppContext.BaseDirectory, "segcluster.dll"), "node", "--redis", redis, "--node-id", nodeId,
                     "--http-port", $"{http}", "--collective-port", $"{collective}", "--silo-port", $"{silo}", "--gateway-port", $"{gateway}",
                     "--checkpoint-dir", checkpointDirectory, "--devices", devices, .. advertise]))
            info.ArgumentList.Add(a);
        // The token through the environment, as docs/cluster.md recommends (flags show in the process list).
        info.Environment["SEGCLUSTER_Node__Token"] = token;
        // Ranks of one ring start seconds apart on a loaded 2-core machine; a dead peer is seen at once anyway
        // (its connection is refused), the timeout only bounds a silent one.
        info.Environment["SEGCLUSTER_Collectives__Timeout"] = "00:00:30";
        info.Environment["SEGCLUSTER_Collectives__ConnectTimeout"] = "00:00:30"; // a re-formed ring missing a lost rank fails as fast as before
        info.Environment["SEGCLUSTER_Logging__LogLevel__Orleans"] = "Error";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        return new ClusterNodeProcess(Process.Start(info)!, nodeId, host, http, collective);
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    /// <summary>The exit code once the process has exited on its own, or null if it still runs after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { return null; }
        return _process.ExitCode;
    }

    /// <summary>The node's last output lines (stdout and stderr interleaved), running or not.</summary>
    public string Output()
    {
        lock (_lines) return $"--- node {NodeId}{(HasExited ? " (exited)" : "")}:\n{string.Join("\n", _lines.TakeLast(ShownLines))}";
    }

    /// <summary>Whether any line the node printed so far contains <paramref name="text"/>, however long ago.</summary>
    public bool Printed(string text)
    {
        lock (_lines) return _lines.Any(l => l.Contains(text, StringComparison.Ordinal));
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_lines) _lines.Add(line);
    }

    public async ValueTask DisposeAsync()
    {
        await _process.KillAndWaitAsync();
        _process.Dispose();
    }
}
