namespace SegCluster.Collectives;

/// <summary>
/// A collective operation failed on this rank: a peer was unreachable, rejected a chunk, or a chunk
/// did not arrive in time. The buffer's contents are then unspecified; the caller aborts the step
/// (every rank must agree the step succeeded before applying it).
/// </summary>
public sealed class CollectiveException : Exception
{
    public CollectiveException(string message)
        : base(message)
    {
    }

    public CollectiveException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public CollectiveException(
        string message, string groupId, int rank, int? peerRank, string? peerEndpoint, int? step, Exception? innerException = null)
        : base(message, innerException)
    {
        GroupId = groupId;
        Rank = rank;
        PeerRank = peerRank;
        PeerEndpoint = peerEndpoint;
        Step = step;
    }

    public string? GroupId { get; }

    public int Rank { get; } = -1;

    public int? PeerRank { get; }

    public string? PeerEndpoint { get; }

    /// <summary>Ring step (0 .. W−2 reduce-scatter, W−1 .. 2W−3 all-gather) where it failed.</summary>
    public int? Step { get; }
}
