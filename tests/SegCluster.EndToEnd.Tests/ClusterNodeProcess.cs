using System.Diagnostics;

namespace SegCluster.EndToEnd.Tests;

/// <summary>One `segcluster node --redis …` process on free loopback ports; <see cref="KillHard"/> is kill -9.</summary>
internal sealed class ClusterNodeProcess : IAsyncDisposable
{
    /// <summary>Lines kept for a failure message: the last ones say what the node was doing.</summary>
    private const int KeptLines = 60;

    private readonly Process _process;
    private readonly Queue<string> _lines = new();

    private ClusterNodeProcess(Process process, string nodeId, int httpPort, int collectivePort)
    {
        _process = process;
        (NodeId, HttpPort, CollectivePort) = (nodeId, httpPort, collectivePort);
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string NodeId { get; }
    public int HttpPort { get; }
    public int CollectivePort { get; }
    public bool HasExited => _process.HasExited;

    /// <param name="devices">The node's devices, comma-separated (one worker each).</param>
    public static ClusterNodeProcess Start(string redis, string nodeId, string token, string checkpointDirectory, string devices = "cpu")
    {
        int http = LoopbackPorts.Next(), collective = LoopbackPorts.Next(), silo = LoopbackPorts.Next(), gateway = LoopbackPorts.Next();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "segcluster.dll"), "node", "--redis", redis, "--node-id", nodeId,
                     "--http-port", $"{http}", "--collective-port", $"{collective}", "--silo-port", $"{silo}", "--gateway-port", $"{gateway}",
                     "--checkpoint-dir", checkpointDirectory, "--devices", devices })
            info.ArgumentList.Add(a);
        // The token through the environment, as docs/cluster.md recommends (flags show in the process list).
        info.Environment["SEGCLUSTER_Node__Token"] = token;
        // Ranks of one ring start seconds apart on a loaded 2-core machine; a dead peer is seen at once anyway
        // (its connection is refused), the timeout only bounds a silent one.
        info.Environment["SEGCLUSTER_Collectives__Timeout"] = "00:00:30";
        info.Environment["SEGCLUSTER_Collectives__ConnectTimeout"] = "00:00:30"; // a re-formed ring missing a lost rank fails as fast as before
        info.Environment["SEGCLUSTER_Logging__LogLevel__Orleans"] = "Error";
        return new ClusterNodeProcess(Process.Start(info)!, nodeId, http, collective);
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    /// <summary>The node's last output lines (stdout and stderr interleaved), running or not.</summary>
    public string Output()
    {
        lock (_lines) return $"--- node {NodeId}{(HasExited ? " (exited)" : "")}:\n{string.Join("\n", _lines)}";
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_lines)
        {
            _lines.Enqueue(line);
            if (_lines.Count > KeptLines) _lines.Dequeue();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
