namespace SegCluster.Abstractions.Specs.Files;

/// <summary>A spec file that could not be read: every problem found, each naming the file and the field.</summary>
public sealed class SpecFileException(string source, IReadOnlyList<string> errors)
    : Exception($"{source}: {errors.Count} problem(s) in the spec:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors))
{
    public string SpecSource { get; } = source;
    public IReadOnlyList<string> Errors { get; } = errors;
}
