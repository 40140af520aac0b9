using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using YamlDotNet.Core;

namespace SegCluster.Abstractions.Specs.Files;

/// <summary>
/// Reads and writes spec documents (experiments, sweeps) as YAML or JSON. Keys are snake_case as in the
/// validation messages (camelCase is accepted); unknown keys and wrong types are errors that name the field.
/// </summary>
public static class SpecFiles
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = SpecSchema.Naming,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
        IgnoreReadOnlyProperties = true, // computed values (total_steps) are not spec fields
    };

    /// <summary>Loads an experiment spec, applies <paramref name="overrides"/> ("PATH=VALUE", <see cref="SpecOverrides"/>) and
    /// validates the result; throws <see cref="SpecFileException"/> listing every problem.</summary>
    public static ExperimentSpec LoadExperiment(string path, IReadOnlyList<string>? overrides = null) =>
        SpecOverrides.Apply(Load<ExperimentSpec>(path), overrides ?? [], path);

    /// <summary>Reads a spec document; the format follows the extension (.json, otherwise YAML).</summary>
    public static T Load<T>(string path) where T : new()
    {
        var tree = LoadTree(path);
        SpecDocumentKind.Check<T>(tree, path);
        return FromTree<T>(tree, path);
    }

    /// <summary>Reads a spec document as a JSON tree (for callers that adjust it before <see cref="FromTree{T}"/>).</summary>
    public static JsonNode? LoadTree(string path)
    {
        if (!File.Exists(path))
            throw new SpecFileException(path, [Directory.Exists(path) ? "is a directory, not a spec file." : "file not found."]);
        var format = Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase) ? SpecFormat.Json : SpecFormat.Yaml;
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpecFileException(path, [$"cannot be read ({e.Message})."]);
        }
        return ParseDocument(text, format, path);
    }

    /// <summary>A whole spec document (a file, a request body) as a tree. An empty one is refused: it is a spec not written
    /// yet (or saved empty), not a request for every default (it trained the built-in 800-step run as "quickstart").</summary>
    public static JsonNode ParseDocument(string text, SpecFormat format, string source) =>
        ParseTree(text, format, source)
        ?? throw new SpecFileException(source, ["is empty: a spec needs at least one field (see examples/experiments/ and examples/sweeps/)."]);

    public static T Parse<T>(string text, SpecFormat format, string source = "spec") where T : new() =>
        FromTree<T>(ParseTree(text, format, source), source);

    /// <summary>Reads a spec recorded as <see cref="ToJson{T}"/> writes it (a checkpoint's), every field filled in: fields a
    /// written document may not set together (training.steps and epochs) are taken as they are.</summary>
    public static T ParseRecorded<T>(string json, string source) where T : new() =>
        FromTree<T>(ParseTree(json, SpecFormat.Json, source), source, asWritten: false);

    /// <summary>Checks a tree against <typeparamref name="T"/> and deserialises it; an empty document gives the defaults.</summary>
    public static T FromTree<T>(JsonNode? tree, string source = "spec") where T : new() => FromTree<T>(tree, source, asWritten: true);

    private static T FromTree<T>(JsonNode? tree, string source, bool asWritten) where T : new()
    {
        var errors = new List<string>();
        var normalised = SpecSchema.Normalise(tree ?? new JsonObject(), typeof(T), "", errors, asWritten);
        if (errors.Count > 0)
            throw new SpecFileException(source, errors);
        try
        {
            return normalised.Deserialize<T>(Options) ?? new T();
        }
        catch (JsonException e)
        {
            throw new SpecFileException(source, [$"{e.Path?.TrimStart('$', '.')}: {e.Message}"]);
        }
    }

    /// <summary>The spec as a snake_case JSON tree (every field, defaults included).</summary>
    public static JsonObject ToTree<T>(T spec) => JsonSerializer.SerializeToNode(spec, Options)!.AsObject();

    public static string ToJson<T>(T spec) => JsonSerializer.Serialize(spec, Options);

    /// <summary>The spec as a document <see cref="Load{T}"/> reads back as the same spec (YAML being a superset of JSON, in
    /// either format): <see cref="ToJson{T}"/> without a field the document's other one overrides (training.steps when
    /// training.epochs is set), which a written document may not set together.</summary>
    public static string ToDocument<T>(T spec)
    {
        var tree = ToTree(spec);
        SpecSchema.DropOverridden(tree, typeof(T));
        return tree.ToJsonString(Options);
    }

    public static JsonNode? ParseTree(string text, SpecFormat format, string source = "spec")
    {
        try
        {
            return format == SpecFormat.Json
                ? JsonNode.Parse(text, documentOptions: new JsonDocumentOptions
                {
                    CommentHandling = JsonCommentHandling.Skip,
                    AllowTrailingCommas = true,
                    // A key given twice is a mistake either way; without this the tree throws a bare ArgumentException later.
                    AllowDuplicateProperties = false,
                })
                : YamlToJson.Convert(text);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $"line {line + 1}, position {e.BytePositionInLine + 1}: " : "";
            throw new SpecFileException(source, [$"{where}not valid JSON ({e.Message})"]);
        }
        catch (YamlException e)
        {
            throw new SpecFileException(source, [$"line {e.Start.Line}, column {e.Start.Column}: not valid YAML ({e.InnerException?.Message ?? e.Message})"]);
        }
    }
}
