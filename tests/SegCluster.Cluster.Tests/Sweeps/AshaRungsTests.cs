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
}
