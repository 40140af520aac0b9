using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Scheduling;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>Which queued requests the live nodes can ever run, and why one waits: counted over live nodes only, held workers
/// included, cuda devices as one kind.</summary>
public sealed class QueueCapacityTests
{
    private static readonly HashSet<string> Live = ["a", "b"];

    /// <summary>Node a: 2 cpu workers (one held); node b: cuda:0 and cuda:1; node dead: 4 cpu workers on a node not live.</summary>
    private static SchedulerRecord Inventory()
    {
        var record = new SchedulerRecord();
        void Add(string node, int index, string device) => record.Workers[$"{node}/{index}"] = new WorkerInfo($"{node}/{index}", node, device, $"http://{node}");
        Add("a", 0, "cpu");
        Add("a", 1, "cpu");
        Add("b", 0, "cuda:0");
        Add("b", 1, "cuda:1");
        for (var i = 0; i < 4; i++) Add("dead", i, "cpu");
        record.Allocations["a/0"] = "running";
        return record;
    }

    private static QueuedExperiment Experiment(string id, int workers, string device) => new(id, new ExperimentSpec(), workers, device);
    private static QueuedExperiment Ring(string id, int workers, string device) => new(id, null, workers, device);

    [Fact]
    public void An_experiment_runs_when_the_live_nodes_have_enough_of_its_kind_held_or_free()
    {
        var record = Inventory();
        Assert.True(QueueCapacity.Runnable(record, Live, Experiment("e", 2, "cpu")));     // a/0 is held: it waits its turn
        Assert.False(QueueCapacity.Runnable(record, Live, Experiment("e", 3, "cpu")));    // the dead node's workers do not count
        Assert.True(QueueCapacity.Runnable(record, Live, Experiment("e", 2, "cuda")));    // cuda:0 and cuda:1 are one kind
        Assert.True(QueueCapacity.Runnable(record, Live, Ring("r", 5, "cpu")));           // a re-forming ring always holds the queue
    }

    [Fact]
    public void An_experiment_larger_than_the_live_nodes_says_so_and_one_that_fits_waits_its_turn_silently()
    {
        var record = Inventory();
        var large = Experiment("large", 3, "cpu");
        record.Queue.Add(large);
        Assert.StartsWith("the cluster's live nodes have 2 cpu worker(s) and this experiment needs 3: it starts when nodes join",
            QueueCapacity.WaitingReason(record, Live, large), StringComparison.Ordinal);

        var fits = Experiment("fits", 2, "cpu");
        record.Queue.Add(fits);
        Assert.Null(QueueCapacity.WaitingReason(record, Live, fits));  // an oversized experiment ahead does not hold it back
    }

    [Fact]
    public void A_re_forming_ring_too_large_for_the_live_nodes_is_named_by_every_request_behind_it()
    {
        var record = Inventory();
        var ring = Ring("ring", 3, "cpu");
        var behind = Experiment("behind", 1, "cuda:0");
        var ahead = Experiment("ahead", 1, "cpu");
        record.Queue.AddRange([ahead, ring, behind]);

        Assert.StartsWith("it re-forms and needs 3 cpu workers, more than the live nodes have (2)", QueueCapacity.WaitingReason(record, Live, ring), StringComparison.Ordinal);
        Assert.StartsWith("experiment 'ring' re-forms ahead of it and needs 3 cpu workers, more than the live nodes have (2)",
            QueueCapacity.WaitingReason(record, Live, behind), StringComparison.Ordinal);
        Assert.Null(QueueCapacity.WaitingReason(record, Live, ahead));
    }
}
