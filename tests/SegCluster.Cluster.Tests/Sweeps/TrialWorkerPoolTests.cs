using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>How a sweep's driver leases its workers to trials: never twice at once, never one whose node left the cluster.</summary>
public sealed class TrialWorkerPoolTests
{
    [Fact]
    public void Slots_are_bounded_by_max_concurrent_trials_and_by_the_workers_that_make_whole_trials()
    {
        Assert.Equal(2, new TrialWorkerPool(["w0", "w1", "w2", "w3", "w4"], [], perTrial: 1, maxConcurrent: 2).Slots);
        Assert.Equal(2, new TrialWorkerPool(["w0", "w1", "w2", "w3", "w4"], [], perTrial: 2, maxConcurrent: 3).Slots);
    }

    [Fact]
    public void Busy_workers_are_not_leased_until_returned()
    {
        var pool = new TrialWorkerPool(["w0", "w1", "w2"], busy: ["w0"], perTrial: 1, maxConcurrent: 3);
        Assert.Equal(["w1"], pool.Lease());
        Assert.Equal(["w2"], pool.Lease());
        pool.Return(["w0"], lost: null);
        Assert.Equal(["w0"], pool.Lease());
    }

    [Fact]
    public void A_worker_whose_node_left_is_never_leased_again_and_the_slots_shrink()
    {
        var pool = new TrialWorkerPool(["w0", "w1", "w2"], [], perTrial: 1, maxConcurrent: 3);
        string[][] leased = [pool.Lease(), pool.Lease(), pool.Lease()];
        pool.Return(leased[1], lost: ["w1"]);
        pool.Return(leased[0], lost: null);
        pool.Return(leased[2], lost: ["w9"]);  // another trial's lost worker: not this one's

        Assert.Equal(2, pool.Slots);
        Assert.Equal(["w0", "w2"], pool.Lease().Concat(pool.Lease()));
    }

    [Fact]
    public void When_the_remaining_workers_cannot_make_a_trial_no_slot_is_left_and_the_reason_names_the_lost_ones()
    {
        var pool = new TrialWorkerPool(["w0", "w1", "w2"], [], perTrial: 2, maxConcurrent: 2);
        Assert.Equal(1, pool.Slots);
        pool.Return(pool.Lease(), lost: ["w0", "w1"]);

        Assert.Equal(0, pool.Slots);
        Assert.Equal("no workers left to run it: the nodes of w0, w1 left the cluster, and the 1 remaining of the sweep's 3 workers cannot make a trial of 2",
            pool.NoneLeftReason);
    }
}
