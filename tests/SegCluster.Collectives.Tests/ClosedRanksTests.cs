namespace SegCluster.Collectives.Tests;

public sealed class ClosedRanksTests
{
    [Fact]
    public void A_rank_closed_reopened_and_closed_again_is_remembered_as_closed_last()
    {
        var closed = new ClosedRanks();
        closed.Add("reused", 0);
        for (var ring = 0; ring < ClosedRanks.Capacity - 1; ring++) closed.Add($"ring-{ring}", 0);
        closed.Remove("reused", 0);  // a new ring of the same group and rank opened
        closed.Add("reused", 0);     // and was closed again: now the newest entry

        closed.Add("one-more", 0);   // one over capacity: the oldest live entry goes, not the newest close

        Assert.True(closed.Contains("reused", 0));
        Assert.False(closed.Contains("ring-0", 0));
        Assert.Equal(ClosedRanks.Capacity, closed.Count);
    }
}
