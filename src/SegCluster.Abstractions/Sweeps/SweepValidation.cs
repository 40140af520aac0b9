using SegCluster.Abstractions.Specs;

namespace SegCluster.Abstractions.Sweeps;

/// <summary>Up-front checks of a <see cref="SweepSpec"/>: every message names the field and the fix.</summary>
public static class SweepValidation
{
    public const int MaxTrials = 100_000;
    public const int MaxFailures = 100;

    public static IReadOnlyList<string> Validate(SweepSpec sweep)
    {
        var errors = new List<string>();
        void Check(bool ok, string message) { if (!ok) errors.Add(message); }

        Check(!string.IsNullOrWhiteSpace(sweep.Name) && sweep.Name.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.'),
            $"name: '{sweep.Name}' must be non-empty letters, digits, '-', '_' or '.' (it names the report folder).");
        Check(SweepSpec.Metrics.Contains(sweep.Metric), $"metric: '{sweep.Metric}' is unknown; use one of {string.Join(", ", SweepSpec.Metrics)}.");
        Check(sweep.Mode is null or SweepSpec.Max or SweepSpec.Min, $"mode: '{sweep.Mode}' is unknown; use 'max' or 'min', or leave it out to follow the metric.");
        if (sweep.Mode is SweepSpec.Max or SweepSpec.Min && SweepSpec.Metrics.Contains(sweep.Metric))
        {
            var natural = SweepSpec.NaturalMode(sweep.Metric);
            Check(sweep.Mode == natural,
                $"mode: '{sweep.Mode}' with metric: '{sweep.Metric}' would rank the worst trials first ({sweep.Metric} is better {(natural == SweepSpec.Min ? "lower" : "higher")}); set mode: {natural} or leave mode out.");
        }
        Check(sweep.MaxConcurrentTrials >= 1, $"max_concurrent_trials: {sweep.MaxConcurrentTrials} must be at least 1.");
        Check(sweep.WorkersPerTrial is >= 1 and <= SpecValidation.MaxWorkers, $"workers_per_trial: {sweep.WorkersPerTrial} must be 1 to {SpecValidation.MaxWorkers}.");
        Check(sweep.TrialSteps is null or >= 1, $"trial_steps: {sweep.TrialSteps} must be at least 1.");
        Check(sweep.MaxFailures is >= 0 and <= MaxFailures, $"max_failures: {sweep.MaxFailures} must be 0 to {MaxFailures}.");
        errors.AddRange(sweep.TrialBase.Validate().Select(e => $"base.{e}"));

        for (var i = 0; i < sweep.Axes.Count; i++) ValidateAxis(sweep.Axes[i], $"axes[{i}]", errors);
        var paths = sweep.Axes.Where(a => SpecPaths.IsValid(a.Path, out _)).Select(a => SpecPaths.Canonical(a.Path)).ToList();
        foreach (var twice in paths.GroupBy(p => p).Where(g => g.Count() > 1))
            errors.Add($"axes: '{twice.Key}' appears {twice.Count()} times; give each path one axis.");
        // Fields the sweep itself sets for every trial: an axis on them would be overridden, or fight the sweep's leases
        // (a trial asking for more workers than workers_per_trial fails at start) and budget (ASHA's rungs, the progress view).
        foreach (var owned in paths.Where(p => SweepOwnedFields.ContainsKey(p) && (p is not ("training.steps" or "training.epochs") || sweep.TrialSteps is not null)))
            errors.Add($"axes: '{owned}' is set by the sweep ({SweepOwnedFields[owned]}); remove the axis.");
        // Without trial_steps the base's epochs, when set, decide every trial's length: a steps axis would change nothing.
        if (sweep.TrialSteps is null && sweep.Base.Training.Epochs is { } epochs && paths.Contains("training.steps"))
            errors.Add($"axes: 'training.steps' would be ignored: base.training.epochs ({epochs}) decides every trial's length; remove base.training.epochs, or sweep training.epochs instead.");
        // ASHA on a validation metric validates every trial at its rungs and keeps the best checkpoint by the sweep's metric.
        foreach (var owned in paths.Where(p => sweep.ValidatesAtRungs && p is "training.validate_every" or "training.validate_growth" or "training.best_metric"))
            errors.Add($"axes: '{owned}' is set by the sweep (ASHA on {sweep.Metric} validates at its rungs); remove the axis.");
        if (sweep.Search.Kind == SearchSpec.Asha && sweep.Metric == SweepSpec.Loss && paths.FirstOrDefault(ChangesWhatTheLossMeasures) is { } lossChanging)
            errors.Add($"axes: ASHA compares training losses at rungs, and '{lossChanging}' changes what the loss measures (soft-ce and nearest losses, or a loss with and without auxiliary terms, are not comparable); use metric: miou (ASHA then compares validations at its rungs).");

        var s = sweep.Search;
        Check(SearchSpec.Kinds.Contains(s.Kind), $"search.kind: '{s.Kind}' is unknown; use one of {string.Join(", ", SearchSpec.Kinds)}.");
        Check(s.Samples >= 1, $"search.samples: {s.Samples} must be at least 1.");
        if (s.Kind == SearchSpec.Asha)
        {
            Check(s.MinBudget >= 1, $"search.min_budget: {s.MinBudget} must be at least 1 step.");
            Check(s.ReductionFactor >= 2, $"search.reduction_factor: {s.ReductionFactor} must be at least 2.");
            Check(s.Rungs >= 1, $"search.rungs: {s.Rungs} must be at least 1.");
            if (s.MinBudget >= 1 && s.ReductionFactor >= 2 && s.Rungs >= 1)
            {
                var top = s.MinBudget * Math.Pow(s.ReductionFactor, s.Rungs - 1);
                Check(top < sweep.Budget,
                    $"search: the last rung is at {top} steps but a trial runs {sweep.Budget}; lower search.rungs or search.min_budget, or raise trial_steps.");
            }
        }
        if (sweep.SpectralSkip is { } skip)
        {
            Check(skip.MaxPredictedDrop is >= 0 and <= 1, $"spectral_skip.max_predicted_drop: {skip.MaxPredictedDrop} must be in [0, 1] (0.05 = 5 mIoU points).");
            Check(skip.Images >= 1, $"spectral_skip.images: {skip.Images} must be at least 1.");
        }
        if (errors.Count == 0)
        {
            var trials = TrialCount(sweep);
            Check(trials <= MaxTrials, $"axes: the sweep expands to {trials} trials; the limit is {MaxTrials}; lower search.samples or the grid.");
        }
        return errors;
    }

    /// <summary>Trials the sweep expands to (grid axes multiply; grid search also multiplies choice axes).</summary>
    public static double TrialCount(SweepSpec sweep) =>
        sweep.Search.Samples * sweep.Axes
            .Where(a => a.Kind == SweepAxis.Grid || (a.Kind == SweepAxis.Choice && sweep.Search.Kind == SearchSpec.Grid))
            .Aggregate(1.0, (n, a) => n * a.Values.Count);

    private static readonly Dictionary<string, string> SweepOwnedFields = new()
    {
        ["workers"] = "workers_per_trial",
        ["device"] = "the workers it leases",
        ["name"] = "the trial's name",
        ["training.steps"] = "trial_steps",
        ["training.epochs"] = "trial_steps",
    };

    /// <summary>Label grid and loss settings, and what adds or weights auxiliary terms (the model, SPG supervision).</summary>
    private static bool ChangesWhatTheLossMeasures(string path) =>
        path.StartsWith("labels.", StringComparison.Ordinal) || path.StartsWith("loss.", StringComparison.Ordinal) ||
        path is "model.name" or "model.spg.supervision" or "training.auxiliary_weight" or "training.final_weight";

    private static void ValidateAxis(SweepAxis axis, string at, List<string> errors)
    {
        if (!SpecPaths.IsValid(axis.Path, out var pathError))
        {
            errors.Add($"{at}.path: {pathError}");
            return;
        }
        if (!SweepAxis.Kinds.Contains(axis.Kind))
        {
            errors.Add($"{at}.kind: '{axis.Kind}' is unknown; use one of {string.Join(", ", SweepAxis.Kinds)}.");
            return;
        }
        if (axis.IsDiscrete)
        {
            if (axis.Values.Count == 0) errors.Add($"{at}.values: a {axis.Kind} axis needs at least one value.");
            foreach (var value in axis.Values)
                if (!SpecPaths.IsValidValue(axis.Path, value, out var valueError)) errors.Add($"{at}.values: {valueError}");
            if (axis.Min is not null || axis.Max is not null)
                errors.Add($"{at}: min and max bound uniform, log-uniform and integer axes; a {axis.Kind} axis takes values.");
            return;
        }
        // Without this a range axis missing its bounds drew every trial from [0, 0], and values were ignored without a word.
        if (axis.Values.Count > 0)
            errors.Add($"{at}.values: a {axis.Kind} axis draws from min and max; list values on a choice or grid axis instead.");
        if (axis.Min is not { } min || axis.Max is not { } max)
        {
            errors.Add($"{at}: a {axis.Kind} axis needs min and max.");
            return;
        }
        if (!(double.IsFinite(min) && double.IsFinite(max) && min <= max))
            errors.Add($"{at}: min {min} and max {max} must be finite with min <= max.");
        if (axis.Kind == SweepAxis.LogUniform && min <= 0)
            errors.Add($"{at}.min: {min} must be positive for a log-uniform axis.");
        if (axis.Kind == SweepAxis.Integer && (min != Math.Floor(min) || max != Math.Floor(max)))
            errors.Add($"{at}: an integer axis needs whole min and max (got {min}, {max}).");
        if (!SpecPaths.IsNumeric(axis.Path))
            errors.Add($"{at}.kind: a {axis.Kind} axis needs a numeric field and {SpecPaths.Canonical(axis.Path)} is not one; use a choice or grid axis.");
        else if (axis.Kind != SweepAxis.Integer && SpecPaths.IsInteger(axis.Path))
            errors.Add($"{at}.kind: {SpecPaths.Canonical(axis.Path)} is an integer field, and a {axis.Kind} axis draws fractions; use kind: integer.");
    }
}
