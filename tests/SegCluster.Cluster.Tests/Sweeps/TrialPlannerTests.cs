using System.Globalization;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps.Search;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>Grid expansion order and size; seeded random draws are reproducible and inside their ranges.</summary>
public sealed class TrialPlannerTests
{
    private static readonly SweepAxis Modes = new() { Path = "labels.mode", Kind = SweepAxis.Grid, Values = ["nearest", "soft-ce"] };
    private static readonly SweepAxis Factors = new() { Path = "labels.factor", Kind = SweepAxis.Choice, Values = ["2", "4", "8"] };
    private static readonly SweepAxis Rate = new() { Path = "training.learningRate", Kind = SweepAxis.LogUniform, Min = 1e-3, Max = 1e-1 };
    private static readonly SweepAxis Seed = new() { Path = "seed", Kind = SweepAxis.Integer, Min = 3, Max = 5 };

    [Fact]
    public void Grid_search_is_the_cartesian_product_first_axis_slowest_times_samples()
    {
        var sweep = new SweepSpec { Axes = [Modes, Factors], Search = new SearchSpec { Kind = SearchSpec.Grid, Samples = 2 } };
        var plan = TrialPlanner.Plan(sweep);
        Assert.Equal(12, plan.Count);
        Assert.Equal(12, SweepValidation.TrialCount(sweep));
        Assert.Equal(["nearest/2", "nearest/4", "nearest/8", "soft-ce/2", "soft-ce/4", "soft-ce/8"], plan.Take(6).Select(p => $"{p[0].Value}/{p[1].Value}"));
        Assert.Equal(plan.Take(6).Select(p => Text(p.Take(2).ToList())), plan.Skip(6).Select(p => Text(p.Take(2).ToList())));
        Assert.Equal("labels.mode", plan[0][0].Path);
        // A repetition of a reproducible run would be the same run: repetition r trains with base.seed + r.
        Assert.Equal([.. Enumerable.Repeat("0", 6), .. Enumerable.Repeat("1", 6)], plan.Select(p => Assert.Single(p, v => v.Path == "seed").Value));
        var reseeded = TrialPlanner.SpecFor(sweep with { Base = sweep.Base with { Seed = 40 } }, "t", TrialPlanner.Plan(sweep with { Base = sweep.Base with { Seed = 40 } })[7]);
        Assert.Equal(41, reseeded.Seed);
    }

    [Fact]
    public void A_seed_axis_or_one_sample_leaves_the_seed_alone()
    {
        Assert.All(TrialPlanner.Plan(new SweepSpec { Axes = [Modes, Seed], Search = new SearchSpec { Kind = SearchSpec.Random, Samples = 3 } }),
            p => Assert.Single(p, v => v.Path == "seed"));
        Assert.All(TrialPlanner.Plan(new SweepSpec { Axes = [Modes] }), p => Assert.DoesNotContain(p, v => v.Path == "seed"));
    }

    [Fact]
    public void Random_search_expands_grid_axes_draws_the_rest_and_repeats_with_the_same_seed()
    {
        var sweep = new SweepSpec { Axes = [Modes, Factors, Rate, Seed], Search = new SearchSpec { Kind = SearchSpec.Random, Samples = 50, Seed = 11 } };
        var plan = TrialPlanner.Plan(sweep);
        Assert.Equal(100, plan.Count);
        Assert.Equal(plan.Select(Text), TrialPlanner.Plan(sweep).Select(Text));
        Assert.NotEqual(plan.Select(Text), TrialPlanner.Plan(sweep with { Search = sweep.Search with { Seed = 12 } }).Select(Text));
        Assert.Equal(50, plan.Count(p => p[0].Value == "nearest"));
        var rates = plan.Select(p => double.Parse(p[2].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.All(rates, r => Assert.InRange(r, 1e-3, 1e-1));
        Assert.Contains(rates, r => r < 1e-2);  // log-uniform: a third of the draws lie below 0.01 on average
        Assert.Equal(["3", "4", "5"], plan.Select(p => p[3].Value).Distinct().Order());
        Assert.Equal(["2", "4", "8"], plan.Select(p => p[1].Value).Distinct().Order());
    }

    [Fact]
    public void The_trial_spec_applies_every_value_to_the_trial_base()
    {
        var sweep = new SweepSpec { Name = "s", WorkersPerTrial = 1, TrialSteps = 9, Axes = [Modes, Factors] };
        var spec = TrialPlanner.SpecFor(sweep, "s-t004", TrialPlanner.Plan(sweep)[4]);
        Assert.Equal(("s-t004", "soft-ce", 4, 1, 9), (spec.Name, spec.Labels.Mode, spec.Labels.Factor, spec.Workers, spec.TotalSteps));
    }

    private static string Text(IReadOnlyList<AxisValue> values) => string.Join(",", values.Select(v => v.Value));
}
