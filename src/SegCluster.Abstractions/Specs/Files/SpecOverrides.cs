namespace SegCluster.Abstractions.Specs.Files;

/// <summary>
/// Field overrides from the command line, "PATH=VALUE" (mmsegmentation's <c>--cfg-options</c>, Hydra's
/// <c>key=value</c>): each replaces the field <see cref="SpecPaths"/> addresses, in the order given, and the spec is
/// validated once after the last, so an override may repair a field the file got wrong.
/// </summary>
public static class SpecOverrides
{
    /// <summary>The example the errors and the option's help show.</summary>
    public const string Example = "training.learning_rate=0.02";

    /// <summary>
    /// <paramref name="spec"/> with every assignment applied and then validated; throws <see cref="SpecFileException"/>
    /// (source <paramref name="source"/>) listing every malformed assignment, unknown path, unparsable value and every
    /// validation error of the result, but those of a field whose own assignment failed (that field keeps the file's
    /// value, which the assignment may have been meant to repair: its error is the assignment's).
    /// </summary>
    public static ExperimentSpec Apply(ExperimentSpec spec, IReadOnlyList<string> assignments, string source)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(assignments);
        var errors = new List<string>();
        string? setSteps = null;
        var failedPaths = new List<string>();
        foreach (var assignment in assignments)
        {
            int equals = assignment.IndexOf('=');
            if (equals <= 0)
            {
                errors.Add($"--set '{assignment}': expected PATH=VALUE, e.g. {Example}.");
                continue;
            }
            try
            {
                var path = assignment[..equals].Trim();
                spec = SpecPaths.With(spec, path, assignment[(equals + 1)..]);
                if (SpecPaths.Canonical(path) == "training.steps") setSteps = assignment;
            }
            catch (ArgumentException e)
            {
                errors.Add($"--set '{assignment}': {e.Message}");
                if (SpecPaths.IsValid(assignment[..equals].Trim(), out _)) failedPaths.Add(SpecPaths.Canonical(assignment[..equals].Trim()));
            }
        }
        // training.epochs decides the length when set: an override of the steps would be ignored without a word. (An
        // override of the epochs replaces the steps as intended: the steps cannot be unset.)
        if (setSteps is not null && spec.Training.Epochs is { } epochs)
            errors.Add($"--set '{setSteps}': training.epochs ({epochs}) is set too and decides the run's length; add --set training.epochs=null to train by steps.");
        errors.AddRange(spec.Validate().Where(error => !failedPaths.Any(path => error.StartsWith(path + ":", StringComparison.Ordinal))));
        return errors.Count == 0 ? spec : throw new SpecFileException(source, errors);
    }

    /// <summary>The canonical paths of the fields <paramref name="assignments"/> set; malformed assignments and unknown paths
    /// are left out (<see cref="Apply"/> names them).</summary>
    public static IReadOnlySet<string> Paths(IEnumerable<string> assignments) =>
        assignments.Select(a => a.IndexOf('=') is > 0 and var equals ? a[..equals].Trim() : null)
            .Where(p => p is not null && SpecPaths.IsValid(p, out _)).Select(p => SpecPaths.Canonical(p!)).ToHashSet();
}
