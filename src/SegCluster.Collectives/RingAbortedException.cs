namespace SegCluster.Collectives;

/// <summary>
/// Thrown by <see cref="CollectiveMailbox.ReceiveAsync"/> when the sending rank gave up the operation (its own call
/// failed or was cancelled) and said so with an <see cref="AbortMessage"/>: the chunk waited for will never come.
/// </summary>
public sealed class RingAbortedException : Exception
{
    public RingAbortedException(AbortMessage abort)
        : base(Describe(abort))
    {
        SourceRank = abort.SourceRank;
        OriginRank = abort.OriginRank;
        Sequence = abort.Sequence;
        Reason = abort.Reason;
    }

    /// <summary>The predecessor that sent the abort.</summary>
    public int SourceRank { get; }

    /// <summary>The rank whose failure started the abort as it went round the ring.</summary>
    public int OriginRank { get; }

    public long Sequence { get; }

    /// <summary>The origin's failure, as that rank reported it.</summary>
    public string Reason { get; }

    private static string Describe(AbortMessage abort)
    {
        var origin = abort.OriginRank == abort.SourceRank ? "" : $" after rank {abort.OriginRank} failed";
        return $"rank {abort.SourceRank} gave up all-reduce sequence {abort.Sequence}{origin}: {abort.Reason.TrimEnd('.')}";
    }
}
