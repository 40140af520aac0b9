using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Grains;

namespace SegCluster.Cluster.Tests.Grains;

/// <summary>The coordinator's in-memory loss curve: one point per step in step order, rewound for a re-formed ring, and
/// bounded however long the run (it grew by a point per step for ever).</summary>
public sealed class LossCurveTests
{
    [Fact]
    public void A_rewind_drops_the_steps_a_re_formed_ring_redoes_and_their_reports_take_their_place()
    {
        var curve = new LossCurve();
        for (int step = 1; step <= 150; step++) curve.Add(new CurvePoint(step, 1.0));

        curve.Rewind(100);  // resumed from the checkpoint of step 100
        for (int step = 101; step <= 120; step++) curve.Add(new CurvePoint(step, 0.5));

        Assert.Equal(Enumerable.Range(1, 120), curve.After(0).Select(p => p.Step));
        Assert.All(curve.After(100), p => Assert.Equal(0.5, p.Value));
        Assert.Empty(curve.After(130));  // a follower that read the broken ring's step 130 waits for the new one
    }

    [Fact]
    public void A_report_that_overtook_the_one_before_it_is_kept_in_step_order()
    {
        var curve = new LossCurve();
        curve.Add(new CurvePoint(1, 1.0));
        curve.Add(new CurvePoint(3, 0.8));
        curve.Add(new CurvePoint(2, 0.9));
        curve.Add(new CurvePoint(3, 0.7));  // the same step again: the later report

        Assert.Equal([new CurvePoint(1, 1.0), new CurvePoint(2, 0.9), new CurvePoint(3, 0.7)], curve.After(0));
    }

    [Fact]
    public void A_long_run_keeps_at_most_the_capacity_thinning_old_points_and_keeping_the_newer_half_whole()
    {
        const int capacity = 64;
        var curve = new LossCurve(capacity);
        for (int step = 1; step <= 10_000; step++) curve.Add(new CurvePoint(step, 1.0 / step));

        Assert.InRange(curve.Count, capacity / 2, capacity);
        var steps = curve.After(0).Select(p => p.Step).ToList();
        Assert.Equal(1, steps[0]);
        Assert.True(steps.Zip(steps.Skip(1)).All(p => p.First < p.Second), "steps out of order");
        Assert.Equal(Enumerable.Range(10_000 - capacity / 2 + 1, capacity / 2), steps.TakeLast(capacity / 2));  // what followers read
    }
}
