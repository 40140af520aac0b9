using Grpc.Core;

namespace SegCluster.Collectives;

/// <summary>
/// Builds the <see cref="CollectiveException"/>s of one rank, so every transport names group, rank,
/// phase, peer and endpoint the same way (the worker's failure handling and its logs rely on it).
/// </summary>
internal sealed class RingFailures(RingGroup group, int rank, TimeSpan timeout)
{
    public CollectiveException Create(string what, int peer, int step, Exception? inner)
    {
        var worldSize = group.WorldSize;
        var phase = step < worldSize - 1
            ? $"reduce-scatter step {step + 1}/{worldSize - 1}"
            : $"all-gather step {step - worldSize + 2}/{worldSize - 1}";
        return new CollectiveException(
            $"All-reduce of group '{group.GroupId}' failed on rank {rank} of {worldSize} during {phase} " +
            $"(peer rank {peer} at {group.Endpoints[peer]}): {what}.",
            group.GroupId, rank, peer, group.Endpoints[peer], step, inner);
    }

    /// <summary>The predecessor's chunk does not fit this rank's buffer: the ranks called with different lengths.</summary>
    public CollectiveException LengthMismatch(int peer, int step, long theirLength, int ourLength, long chunkBytes, long expectedBytes) =>
        Create(
            $"rank {peer} called SumAsync with a buffer of {theirLength} floats but this rank has {ourLength} " +
            $"(or sent a chunk of {chunkBytes} bytes where {expectedBytes} were expected); every rank must pass the same length",
            peer, step, null);

    /// <summary>A failed gRPC call to <paramref name="peer"/>; <paramref name="action"/> says what the call was for.</summary>
    /// <param name="deadline">The setting that bounded the call, when not Timeout (the rendezvous: ConnectTimeout).</param>
    public CollectiveException FromRpc(RpcException ex, string action, int peer, int step, (string Setting, TimeSpan Value)? deadline = null)
    {
        var (setting, limit) = deadline ?? ("Timeout", timeout);
        var what = ex.StatusCode switch
        {
            StatusCode.Unavailable => "is unreachable",
            StatusCode.DeadlineExceeded => $"did not accept it within {setting} {limit}",
            StatusCode.Unauthenticated or StatusCode.PermissionDenied => "rejected the cluster token (check Collectives:Token on both sides)",
            _ => "rejected it",
        };
        return Create(
            $"{action} to rank {peer} at {group.Endpoints[peer]} failed: the peer {what} ({ex.StatusCode}: {ex.Status.Detail})",
            peer, step, ex);
    }
}
