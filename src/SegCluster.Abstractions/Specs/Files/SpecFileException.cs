namespace SegCluster.Abstractions.Specs.Files;

/// <summary>A spec file that could not be read: every problem found, each naming the file and the field.</summary>
public sealed class SpecFileException : Exception
{
    public SpecFileException(string source, IReadOnlyList<string> errors)
        : this(source, errors, $"{source}: {errors.Count} problem(s) in the spec:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors))
    {
    }

    private SpecFileException(string source, IReadOnlyList<string> errors, string message) : base(message)
    {
        SpecSource = source;
        Errors = errors;
    }

    /// <summary>One problem that makes the document's fields beside the point (a sweep spec given to `train`): "SOURCE: PROBLEM",
    /// one line.</summary>
    public static SpecFileException Whole(string source, string problem) => new(source, [problem], $"{source}: {problem}");

    public string SpecSource { get; }
    public IReadOnlyList<string> Errors { get; }
}
