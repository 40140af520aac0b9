using System.Net;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;

namespace SegCluster.Cluster.Nodes;

/// <summary>
/// This node's identity and resources (configuration section "Node"). One worker grain per entry of
/// <see cref="Devices"/>, keyed "{NodeId}/{index}".
/// </summary>
public sealed class NodeOptions
{
    public const string Section = "Node";

    public string NodeId { get; set; } = Environment.MachineName;
    /// <summary>Devices this node trains on: "cpu" (repeatable: one worker each) or "cuda:N". Empty here on
    /// purpose: the configuration binder appends to a list, so a default entry would add a worker
    /// (appsettings.json lists one "cpu").</summary>
    public List<string> Devices { get; set; } = [];
    /// <summary>Address other nodes use to reach this one.</summary>
    public string AdvertiseHost { get; set; } = "127.0.0.1";
    /// <summary>Listen on every interface even when <see cref="AdvertiseHost"/> is a loopback address (a node that
    /// advertises loopback otherwise listens on loopback only). The container image turns it on, so `docker run -p`
    /// reaches /health and /metrics of a single node.</summary>
    public bool ListenOnAllInterfaces { get; set; }

    /// <summary>Whether other machines can reach this node's ports: it advertises an address that is not loopback (it then
    /// listens on every interface), or <see cref="ListenOnAllInterfaces"/> is on.</summary>
    public bool ListensBeyondLoopback() => !IsLoopbackHost(AdvertiseHost) || ListenOnAllInterfaces;

    /// <summary>Whether whoever reaches this node's ports from another machine is let in: it listens beyond loopback with no
    /// <see cref="Token"/> (refused at start unless <see cref="AllowUnauthenticated"/>; warned about when allowed).</summary>
    public bool OpenBeyondLoopback() => ListensBeyondLoopback() && string.IsNullOrEmpty(Token);

    /// <summary>Whether <paramref name="host"/> names this machine only: "localhost" or a loopback address (127.0.0.0/8, ::1).</summary>
    public static bool IsLoopbackHost(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address);
    /// <summary>HTTP/1.1 port: /health, /metrics.</summary>
    public int HttpPort { get; set; } = 8080;
    /// <summary>HTTP/2 (h2c) port of the gRPC collective service.</summary>
    public int CollectivePort { get; set; } = 8081;
    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;
    /// <summary>Intra-op threads torch uses for this process; 0 = cores divided by the number of CPU workers.</summary>
    public int TorchThreads { get; set; }

    /// <summary>The Orleans dashboard (grains, silos, call rates) on the HTTP port; off by default.</summary>
    public NodeDashboardOptions Dashboard { get; set; } = new();

    /// <summary>Redis "HOST:PORT" (or a StackExchange.Redis configuration string) for Orleans clustering and
    /// grain state; empty = embedded (localhost clustering, memory storage).</summary>
    public string? Redis { get; set; }
    /// <summary>A node without Redis keeps its grain state (sweeps, experiments) in files under this folder instead of
    /// memory, so a sweep can be resumed after the process ended; empty = memory. One process at a time per folder.</summary>
    public string? StateDirectory { get; set; }
    /// <summary>Orleans cluster id: nodes with the same Redis and cluster id form one cluster.</summary>
    public string ClusterId { get; set; } = DefaultClusterId;
    public const string DefaultClusterId = "segcluster";
    /// <summary>Cluster token: required on the HTTP API, the gRPC collective, the TCP data plane and every grain call. Never logged.</summary>
    public string? Token { get; set; }
    /// <summary>Lets a node that listens beyond loopback start without <see cref="Token"/>: anyone who reaches its ports
    /// can then submit, cancel and read runs, and call its grains. For a trusted private network only; the node warns at
    /// start. Without it such a node refuses to start.</summary>
    public bool AllowUnauthenticated { get; set; }
    /// <summary>Where rank 0 writes checkpoints; every node must read it (shared filesystem or volume).</summary>
    public string CheckpointDirectory { get; set; } = "checkpoints";
    /// <summary>Absolute directories whose files specs and calls may make this node read (dataset.path,
    /// training.resume_from, training.load_from, model.backbone_weights, eval's checkpoint and dataset): any other path is
    /// refused before the node looks at it (<see cref="Security.SpecPathPolicy"/>). <see cref="CheckpointDirectory"/> is
    /// then allowed too. Empty (the default) = any path, for an embedded or local node; a node that listens beyond
    /// loopback warns at start when it is empty. Empty here on purpose, as <see cref="Devices"/>.</summary>
    public List<string> PathRoots { get; set; } = [];
    /// <summary>Seconds between the node's re-registration of its workers and the scheduler's liveness check.</summary>
    public double HeartbeatSeconds { get; set; } = 2;
    /// <summary>How fast a lost node is declared dead (Orleans membership probes).</summary>
    public NodeFailureDetectionOptions FailureDetection { get; set; } = new();

    /// <summary>How long the clustering store may answer without this node's membership row (a Redis restarted without
    /// persistence, or flushed) before /health reports the node dead, so the orchestrator restarts it and it joins again
    /// (Node:MembershipLossRestartAfter; readiness fails at once).</summary>
    public TimeSpan MembershipLossRestartAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a stopping node (SIGTERM) may take to cancel its training loops, let rank 0 finish a checkpoint
    /// write and leave the cluster before the host gives up (Node:ShutdownTimeout; .NET's default is 30 s, less than a
    /// cancelled loop may need). Keep it under the orchestrator's grace (Kubernetes terminationGracePeriodSeconds, compose
    /// stop_grace_period), or the node is killed mid-shutdown.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(45);

    public string CollectiveEndpoint => $"http://{AdvertiseHost}:{CollectivePort}";

    /// <summary>The workers this node owns: one per entry of <see cref="Devices"/>.</summary>
    public IReadOnlyList<WorkerInfo> Workers() =>
        [.. Devices.Select((device, i) => new WorkerInfo(WorkerIds.For(NodeId, i), NodeId, device, CollectiveEndpoint))];

    public int EffectiveTorchThreads
    {
        get
        {
            if (TorchThreads > 0) return TorchThreads;
            var cpuWorkers = Math.Max(1, Devices.Count(d => d == "cpu"));
            return Math.Max(1, Environment.ProcessorCount / cpuWorkers);
        }
    }
}

/// <summary>Node:Dashboard settings.</summary>
public sealed class NodeDashboardOptions
{
    /// <summary>Serve the Orleans dashboard (Node:Dashboard:Enabled).</summary>
    public bool Enabled { get; set; }
    /// <summary>Path of the dashboard on the HTTP port (Node:Dashboard:Path).</summary>
    public string Path { get; set; } = "/dashboard";
}

/// <summary>Node:FailureDetection: Orleans membership probing. A node is declared dead after
/// <see cref="MissedProbes"/> probes of <see cref="ProbeTimeoutSeconds"/> each go unanswered. One cut off the network
/// rather than crashed (connections open but silent) only once nothing has arrived from it for Orleans' connection-liveness
/// window, 4 × <see cref="ProbeTimeoutSeconds"/> × <see cref="MissedProbes"/> (16 s by default; RedisClusterPartitionTests).</summary>
public sealed class NodeFailureDetectionOptions
{
    public double ProbeTimeoutSeconds { get; set; } = 2;
    public int MissedProbes { get; set; } = 2;

    /// <summary>Nodes that must suspect a node before it is declared dead (Orleans' NumVotesForDeathDeclaration, capped by
    /// Orleans at about half the active nodes). 1: a ring re-forms within seconds of a loss; 2 (Orleans' default) keeps
    /// one monitor starved by its own training threads, or partitioned on one side only, from evicting a healthy node.</summary>
    public int Votes { get; set; } = 1;
}
