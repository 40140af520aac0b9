using SegCluster.Cluster.Sweeps.Search;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>
/// ASHA on a scripted objective: trials report in order, each with a fixed loss (minimised), η = 3, rungs at 1 and 3
/// steps. The expected stops were worked out by hand from the rule "worse than the 2/3 quantile of the values already
/// recorded at the rung" (see <see cref="Expected"/>).
/// </summary>
public sealed class AshaRungsTests
{
    /// <summary>Loss of trial i before step 3 and from step 3 on. Trial 9 looks good early and bad late.</summary>
    public static readonly (double Early, double Late)[] Losses =
        [(5, 5), (3, 3), (8, 8), (1, 1), (9, 9), (4, 4), (2, 2), (7, 7), (6, 6), (1, 9)];

    /// <summary>Trial → step it is stopped at (absent: runs to the end). Rung 1 cutoffs in arrival order: t2 vs
    /// {5,3} → 3.67 (8 stops); t4 vs {5,3,8,1} → 3 (9 stops); t5 vs {5,3,8,1,9} → 3.67 (4 stops); t7 vs
    /// {…,2} → 3 (7 stops); t8 → 3.33 (6 stops); t9 early 1 passes rung 1, then at rung 3 vs {5,3,1,2} → 2 (9 stops).</summary>
    public static readonly IReadOnlyDictionary<int, int> Expected = new Dictionary<int, int> { [2] = 1, [4] = 1, [5] = 1, [7] = 1, [8] = 1, [9] = 3 };

    public static double Loss(int trial, int step) => step < 3 ? Losses[trial].Early : Losses[trial].Late;

    [Fact]
    public void Stops_exactly_the_trials_outside_the_top_third_at_each_rung()
    {
        var asha = new AshaRungs(minBudget: 1, reductionFactor: 3, rungs: 2, maximize: false);
        Assert.Equal([1, 3], asha.Milestones);
        var stopped = new Dictionary<int, int>();
        for (var trial = 0; trial < Losses.Length; trial++)
            for (var step = 1; step <= 9; step++)
                if (asha.Report(trial, step, Loss(trial, step), out _) == AshaDecision.Stop)
                {
                    stopped[trial] = step;
                    break;
                }
        Assert.Equal(Expected.OrderBy(p => p.Key), stopped.OrderBy(p => p.Key));
    }

    [Fact]
    public void A_trial_is_judged_once_per_rung_and_maximising_flips_the_order()
    {
        var asha = new AshaRungs(minBudget: 2, reductionFactor: 2, rungs: 1, maximize: true);
        Assert.Equal(AshaDecision.Continue, asha.Report(0, 2, 0.9, out var first));
        Assert.Equal(2, first);
        Assert.Equal(AshaDecision.Continue, asha.Report(0, 3, 0.1, out var again));  // already recorded at rung 2
        Assert.Null(again);
        Assert.Equal(AshaDecision.Stop, asha.Report(1, 2, 0.5, out _));            // below the median of {0.9}
        Assert.Equal(AshaDecision.Continue, asha.Report(2, 5, 0.95, out _));
        Assert.Equal(AshaDecision.Stop, asha.Report(3, 2, double.NaN, out _));      // a diverged trial is the worst
    }

    [Fact]
    public void Restored_values_take_part_in_later_decisions()
    {
        var asha = new AshaRungs(minBudget: 1, reductionFactor: 2, rungs: 1, maximize: false);
        asha.Restore(0, 1, 1.0);
        Assert.Equal(AshaDecision.Stop, asha.Report(1, 1, 2.0, out _));
    }

    /// <summary>Ray Tune's on_result stops at the highest rung a report reaches (rungs 10 / 30, η = 3): a trial first
    /// reported at step 36 is recorded at rung 30 only, and its later value never fills rung 10, where it would be the
    /// cutoff a fresh trial's real step-10 value is judged by (before: Report(0, 37) recorded 0.1 at rung 10 and the
    /// fresh trial's 0.5 was stopped).</summary>
    [Fact]
    public void A_trial_recorded_at_a_rung_is_never_recorded_later_at_a_lower_one()
    {
        var asha = new AshaRungs(minBudget: 10, reductionFactor: 3, rungs: 2, maximize: false);
        Assert.Equal(AshaDecision.Continue, asha.Report(0, 36, 0.1, out var first));
        Assert.Equal(30, first);
        Assert.Equal(AshaDecision.Continue, asha.Report(0, 37, 0.1, out var lower));
        Assert.Null(lower);
        Assert.Empty(asha.RecordedAt(0));
        Assert.Equal(AshaDecision.Continue, asha.Report(1, 10, 0.5, out _));
    }

    /// <summary>A trial launched again from its checkpoint keeps its rung values up to that step (Ray Tune keeps a restored
    /// trial's rung results), is judged afresh past it, and is never recorded at a rung at or before it with a value of a
    /// later step, also at one its earlier attempt left unrecorded.</summary>
    [Fact]
    public void A_trial_launched_again_from_a_checkpoint_keeps_its_rungs_up_to_it_and_is_judged_only_past_it()
    {
        var asha = new AshaRungs(minBudget: 10, reductionFactor: 3, rungs: 2, maximize: false);
        asha.Report(0, 10, 1.0, out _);
        asha.Report(0, 30, 1.0, out _);   // attempt 1 passed both rungs, then failed; its checkpoint is at step 20
        asha.Relaunch(0, fromStep: 20);
        Assert.Equal([0], asha.RecordedAt(0).Keys);
        Assert.Empty(asha.RecordedAt(1));
        Assert.Equal(AshaDecision.Continue, asha.Report(0, 21, 0.1, out var passed));
        Assert.Null(passed);
        Assert.Equal(AshaDecision.Continue, asha.Report(0, 30, 0.1, out var again));
        Assert.Equal(30, again);
        Assert.Equal(AshaDecision.Continue, asha.Report(1, 10, 0.5, out _));  // judged against trial 0's 1.0 at step 10

        asha.Relaunch(2, fromStep: 15);  // its rung-10 value was never recorded (a coordinator lost it)
        Assert.Equal(AshaDecision.Continue, asha.Report(2, 16, 9.0, out var skipped));
        Assert.Null(skipped);
        Assert.Equal([0, 1], asha.RecordedAt(0).Keys.Order());
    }

    /// <summary>A coordinator that rebuilds the rungs while an attempt resumed from step 15 runs on (it follows the attempt,
    /// not relaunching it): the attempt's rung-30 value stands, and its next report is not recorded at rung 10, which its
    /// earlier attempt left unrecorded. Before, only Relaunch knew the resume step, so the rebuilt state judged it there.</summary>
    [Fact]
    public void A_state_rebuilt_for_a_followed_attempt_keeps_its_resume_step()
    {
        var asha = new AshaRungs(minBudget: 10, reductionFactor: 3, rungs: 2, maximize: false);
        asha.Restore(0, 30, 0.2);
        asha.ResumedFrom(0, fromStep: 15);
        Assert.Equal(AshaDecision.Continue, asha.Report(0, 31, 0.1, out var milestone));
        Assert.Null(milestone);
        Assert.Empty(asha.RecordedAt(0));
        Assert.Equal([0], asha.RecordedAt(1).Keys);
    }
}
