namespace SegCluster.Collectives;

/// <summary>How ring chunks travel between ranks (<see cref="CollectiveOptions.Transport"/>).</summary>
public enum RingTransport
{
    /// <summary>
    /// One plain TCP connection per ring edge, gRPC only for the rendezvous (as gloo and NCCL do):
    /// the default, because HTTP/2 request bodies reached only ~14% of loopback TCP here.
    /// </summary>
    Tcp,

    /// <summary>Every chunk is a unary gRPC call (HTTP/2); the original transport.</summary>
    Grpc,
}
