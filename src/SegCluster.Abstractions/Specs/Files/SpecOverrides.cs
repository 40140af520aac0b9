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
    /// (source <paramref name="source"/>) listing every malformed assignment, unknown path, unparsable value, and, when the
    /// assignments themselves are fine, every validation error of the result.
    /// </summary>
    public static ExperimentSpec Apply(ExperimentSpec spec, IReadOnlyList<string> assignments, string source)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(assignments);
        var errors = new List<string>();
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
                spec = SpecPaths.With(spec, assignment[..equals].Trim(), assignment[(equals + 1)..]);
            }
            catch (ArgumentException e)
            {
                errors.Add($"--set '{assignment}': {e.Message}");
            }
        }
        if (errors.Count == 0) errors.AddRange(spec.Validate());
        return errors.Count == 0 ? spec : throw new SpecFileException(source, errors);
    }
}
