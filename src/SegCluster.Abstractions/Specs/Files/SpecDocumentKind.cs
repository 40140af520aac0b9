using System.Text.Json.Nodes;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Abstractions.Specs.Files;

/// <summary>
/// The kinds of spec document (an experiment, a sweep) and the command that runs each. A document of one kind given to
/// the other's command is named in one line: it was refused field by field (a sweep spec given to `train`: 8 unknown
/// fields, with guesses such as "did you mean 'mode'?" for a sweep's 'model').
/// </summary>
public static class SpecDocumentKind
{
    private sealed record Kind(Type Type, string Name, string Command)
    {
        /// <summary>Its top-level fields, snake_case (every field of a default spec: optional ones are written as null).</summary>
        public IReadOnlySet<string> Fields { get; init; } = new HashSet<string>();
    }

    private static readonly Kind[] Kinds =
    [
        new(typeof(ExperimentSpec), "an experiment spec", "train") { Fields = FieldsOf(new ExperimentSpec()) },
        new(typeof(SweepSpec), "a sweep spec", "sweep") { Fields = FieldsOf(new SweepSpec()) },
    ];

    /// <summary>Throws a one-line <see cref="SpecFileException"/> when <paramref name="tree"/> is a document of another
    /// kind than <typeparamref name="T"/>: it has a top-level field only that kind has and none only <typeparamref name="T"/>
    /// has. Anything else (a document of no kind, a mix, not a mapping) is left to the field-by-field checks.</summary>
    public static void Check<T>(JsonNode? tree, string path)
    {
        if (tree is not JsonObject document || Kinds.SingleOrDefault(k => k.Type == typeof(T)) is not { } expected) return;
        var keys = document.Select(p => SpecSchema.Naming.ConvertName(p.Key)).ToHashSet();
        bool HasOwnField(Kind kind, Kind other) => keys.Any(k => kind.Fields.Contains(k) && !other.Fields.Contains(k));
        foreach (var other in Kinds.Where(k => k != expected))
            if (HasOwnField(other, expected) && !HasOwnField(expected, other))
                throw SpecFileException.Whole(path, $"this is {other.Name}, not {expected.Name}; run it with `segcluster {other.Command} {path}`.");
    }

    private static IReadOnlySet<string> FieldsOf<T>(T spec) => SpecFiles.ToTree(spec).Select(p => p.Key).ToHashSet();
}
