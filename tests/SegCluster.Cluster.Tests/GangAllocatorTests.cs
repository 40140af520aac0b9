using SegCluster.Abstractions.Messages;
using SegCluster.Cluster.Scheduling;

namespace SegCluster.Cluster.Tests;

/// <summary>Gang allocation: all workers or none, never a held worker, device kinds respected, dead nodes skipped.</summary>
public sealed class GangAllocatorTests
{
    private static readonly HashSet<string> AllLive = ["a", "b", "c"];

    private static SchedulerRecord Inventory(params (string Node, int Count, string Device)[] nodes)
    {
        var record = new SchedulerRecord();
        foreach (var (node, count, device) in nodes)
            for (var i = 0; i < count; i++)
                record.Workers[$"{node}/{i}"] = new WorkerInfo($"{node}/{i}", node, device, $"http://{node}");
        return record;
    }

    [Fact]
    public void A_gang_is_all_of_the_requested_workers_or_nothing()
    {
        var record = Inventory(("a", 1, "cpu"), ("b", 1, "cpu"));
        Assert.Null(GangAllocator.TryAllocate(record, 3, "cpu", AllLive));
        Assert.Equal(2, GangAllocator.TryAllocate(record, 2, "cpu", AllLive)!.Count);
    }

    [Fact]
    public void Held_workers_are_never_allocated_again()
    {
        var record = Inventory(("a", 2, "cpu"), ("b", 1, "cpu"));
        record.Allocations["a/0"] = "first";
        var gang = GangAllocator.TryAllocate(record, 2, "cpu", AllLive)!;
        Assert.DoesNotContain("a/0", gang);
        Assert.Null(GangAllocator.TryAllocate(record, 3, "cpu", AllLive));
    }

    [Fact]
    public void Gangs_pack_onto_the_fewest_nodes()
    {
        var record = Inventory(("a", 1, "cpu"), ("b", 2, "cpu"), ("c", 1, "cpu"));
        Assert.Equal(["b/0", "b/1"], GangAllocator.TryAllocate(record, 2, "cpu", AllLive));
    }

    [Fact]
    public void Device_kinds_must_match_and_dead_nodes_are_skipped()
    {
        var record = Inventory(("a", 1, "cuda:0"), ("b", 1, "cpu"), ("c", 1, "cpu"));
        Assert.Equal(["a/0"], GangAllocator.TryAllocate(record, 1, "cuda:3", AllLive));
        Assert.Null(GangAllocator.TryAllocate(record, 2, "cpu", new HashSet<string> { "a", "b" }));
    }
}
