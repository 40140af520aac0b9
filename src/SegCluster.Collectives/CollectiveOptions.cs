namespace SegCluster.Collectives;

/// <summary>
/// Settings of the collective transport, bound from the configuration section
/// <see cref="SectionName"/>. Checked by <see cref="CollectiveOptionsValidator"/>.
/// </summary>
public sealed class CollectiveOptions
{
    public const string SectionName = "Collectives";

    /// <summary>Largest chunk this process accepts from a peer; larger ChunkBytes values are rejected.</summary>
    public const int MaxChunkBytes = 64 << 20;

    /// <summary>
    /// Payload bytes per chunk (one gRPC message, or one TCP frame). Must be a positive multiple of 4 (one float). Every process
    /// of a ring should use the same value: a receiving server accepts messages of its own
    /// ChunkBytes (at least 4 MB) plus framing.
    /// </summary>
    public int ChunkBytes { get; set; } = 1 << 20;

    /// <summary>How long one chunk may take to arrive, and the deadline of each send.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a rank waits for its ring to form on the first call (rendezvous, dialing its successor, its predecessor's
    /// connection): ranks may start minutes apart (scheduling, model loading). Longer than <see cref="Timeout"/>, as
    /// torch.distributed's init timeout (30 min) is longer than its collective ones.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Cluster token. When set, the service rejects calls without
    /// <c>authorization: Bearer &lt;token&gt;</c>, and RingAllReduce sends that header.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>
    /// How chunks travel: <see cref="RingTransport.Tcp"/> (default; plain TCP data connections, gRPC for the
    /// rendezvous) or <see cref="RingTransport.Grpc"/> (every chunk a gRPC call). All ranks of a ring must agree.
    /// </summary>
    public RingTransport Transport { get; set; } = RingTransport.Tcp;

    /// <summary>
    /// Payload element format: <see cref="WireFormat.Fp32"/> (default) or <see cref="WireFormat.Fp16"/> (half the
    /// bytes, accumulation still in fp32; TCP transport only). All ranks of a ring must agree (the handshake checks).
    /// </summary>
    public WireFormat Wire { get; set; } = WireFormat.Fp32;

    /// <summary>
    /// Ports the TCP data plane may listen on, "FIRST-LAST" (inclusive): one port per ring rank running in this process
    /// at a time, so a firewall or NetworkPolicy between nodes can open exactly that range. Unset: any free port.
    /// </summary>
    public string? DataPlanePorts { get; set; }

    /// <summary>
    /// Whether ranks that share a node sum in memory first and only node leaders join the network ring (default). False:
    /// every rank joins one flat ring even on a shared node, so the transport and wire carry every rank's buffer; the
    /// embedded quickstart and the cluster-throughput bench use it to run the real ring over loopback on one machine.
    /// </summary>
    public bool NodeLocalReduction { get; set; } = true;

    /// <summary>
    /// Shortest buffer (floats) that <see cref="WireFormat.Fp16"/> applies to. Shorter calls (global pixel counts,
    /// loss sums, SyncBN statistics) travel in fp32: a pixel count above 65504 is infinite in fp16. Every rank
    /// decides from the length alone, which all ranks share, so no negotiation is needed.
    /// </summary>
    public const int Fp16MinLength = 1 << 16;

    /// <summary>The bound of one wait inside a call: ConnectTimeout until the ring's first call has gone round (with 3 or
    /// more ranks a connected neighbour may wait on a rank further round that is still starting), Timeout after.</summary>
    public (string Setting, TimeSpan Value) WaitLimit(bool formed) => formed ? (nameof(Timeout), Timeout) : (nameof(ConnectTimeout), ConnectTimeout);

    /// <summary>A copy, so a running ring is not affected by later changes to a shared instance.</summary>
    public CollectiveOptions Clone() => new() { ChunkBytes = ChunkBytes, Timeout = Timeout, ConnectTimeout = ConnectTimeout, Token = Token, Transport = Transport, Wire = Wire, DataPlanePorts = DataPlanePorts,
        NodeLocalReduction = NodeLocalReduction };
}
