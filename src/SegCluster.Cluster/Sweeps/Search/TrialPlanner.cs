using System.Globalization;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Sweeps.Search;

/// <summary>
/// Expands a sweep into the parameter sets of its trials, deterministically for a given seed: the Cartesian product of
/// the expanded axes (grid axes; choice axes too under grid search), first axis slowest, repeated search.samples times
/// (repetition r with seed base.seed + r unless seed is an axis); every other axis drawn per trial, in axis order, from
/// one <see cref="Random"/> seeded with search.seed.
/// </summary>
public static class TrialPlanner
{
    private const string SeedPath = "seed";

    public static IReadOnlyList<IReadOnlyList<AxisValue>> Plan(SweepSpec sweep)
    {
        var expanded = sweep.Axes.Where(a => Expands(a, sweep.Search.Kind)).ToList();
        var random = new Random(sweep.Search.Seed);
        // Runs are reproducible: repetitions under one seed would be one run trained samples times. Unless seed is an axis,
        // repetition r trains with base.seed + r, so repeats measure the seed's noise (as Ray users expect of num_samples).
        var reseed = sweep.Search.Samples > 1 && sweep.Axes.All(a => !SpecPaths.IsValid(a.Path, out _) || SpecPaths.Canonical(a.Path) != SeedPath);
        var trials = new List<IReadOnlyList<AxisValue>>();
        for (var sample = 0; sample < sweep.Search.Samples; sample++)
        {
            foreach (var point in Product(expanded))
            {
                var values = new List<AxisValue>(sweep.Axes.Count);
                foreach (var axis in sweep.Axes)
                {
                    var path = SpecPaths.Canonical(axis.Path);
                    var value = Expands(axis, sweep.Search.Kind) ? point[expanded.IndexOf(axis)] : Draw(axis, random);
                    values.Add(new AxisValue(path, value));
                }
                if (reseed) values.Add(new AxisValue(SeedPath, unchecked(sweep.TrialBase.Seed + sample).ToString(CultureInfo.InvariantCulture)));
                trials.Add(values);
            }
        }
        return trials;
    }

    /// <summary>The trials of the spec's plan, invalid combinations skipped with the spec's errors, and the runnable
    /// ones' experiment specs (built once, for the check): what a sweep starts with (SweepGrain) and `sweep --dry-run` shows.</summary>
    public static (List<TrialResult> Trials, List<(int Index, ExperimentSpec Spec)> Runnable) Expand(SweepSpec spec)
    {
        var plan = Plan(spec);
        var digits = Math.Max(3, plan.Count.ToString(CultureInfo.InvariantCulture).Length);
        var trials = new List<TrialResult>(plan.Count);
        var runnable = new List<(int, ExperimentSpec)>();
        for (var i = 0; i < plan.Count; i++)
        {
            var trial = new TrialResult { Index = i, Name = $"{spec.Name}-t{i.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0')}", Parameters = plan[i] };
            if (TrialProblems(spec, trial, out var trialSpec) is { } problems) trial = trial with { State = TrialState.Skipped, Reason = problems };
            else runnable.Add((i, trialSpec!));
            trials.Add(trial);
        }
        return (trials, runnable);
    }

    private static string? TrialProblems(SweepSpec spec, TrialResult trial, out ExperimentSpec? trialSpec)
    {
        trialSpec = null;
        try
        {
            trialSpec = SpecFor(spec, trial.Name, trial.Parameters);
        }
        catch (ArgumentException e)
        {
            return $"invalid: {e.UserMessage()}";
        }
        var errors = trialSpec.Validate();
        return errors.Count == 0 ? null : $"invalid combination: {string.Join(" ", errors)}";
    }

    /// <summary>The trial's experiment: the sweep's trial base with every axis value applied, named after the trial.</summary>
    public static ExperimentSpec SpecFor(SweepSpec sweep, string trialName, IReadOnlyList<AxisValue> values) =>
        values.Aggregate(sweep.TrialBase with { Name = trialName }, (spec, v) => SpecPaths.With(spec, v.Path, v.Value));

    private static bool Expands(SweepAxis axis, string search) =>
        axis.Kind == SweepAxis.Grid || (axis.Kind == SweepAxis.Choice && search == SearchSpec.Grid);

    private static IEnumerable<string[]> Product(IReadOnlyList<SweepAxis> axes)
    {
        var index = new int[axes.Count];
        while (true)
        {
            yield return axes.Select((a, i) => a.Values[index[i]]).ToArray();
            var k = axes.Count - 1;  // the last axis varies fastest
            while (k >= 0 && ++index[k] == axes[k].Values.Count) index[k--] = 0;
            if (k < 0) yield break;
        }
    }

    private static string Draw(SweepAxis axis, Random random)
    {
        var inv = CultureInfo.InvariantCulture;
        double min = axis.Min ?? 0, max = axis.Max ?? 0;  // validated: a range axis has both
        return axis.Kind switch
        {
            SweepAxis.Choice or SweepAxis.Grid => axis.Values[random.Next(axis.Values.Count)],
            SweepAxis.Uniform => (min + random.NextDouble() * (max - min)).ToString("R", inv),
            SweepAxis.LogUniform => Math.Exp(Math.Log(min) + random.NextDouble() * (Math.Log(max) - Math.Log(min))).ToString("R", inv),
            SweepAxis.Integer => ((long)min + random.NextInt64((long)max - (long)min + 1)).ToString(inv),
            _ => throw new ArgumentException($"axis {axis.Path}: kind '{axis.Kind}' is unknown; use one of {string.Join(", ", SweepAxis.Kinds)}."),
        };
    }
}
