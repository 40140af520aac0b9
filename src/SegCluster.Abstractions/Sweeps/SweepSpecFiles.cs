using System.Text.Json;
using System.Text.Json.Nodes;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Abstractions.Sweeps;

/// <summary>
/// Loads a sweep document (YAML or JSON, through <see cref="SpecFiles"/>) and validates it. Axis values may be written
/// as plain YAML/JSON scalars (<c>values: [0.01, 0.1]</c>, <c>[nearest, soft-ce]</c>); they are kept as text and parsed
/// to the addressed field's type when a trial is built. A YAML null (<c>[~, bf16-mixed]</c>) becomes "null", which
/// unsets an optional field.
/// </summary>
public static class SweepSpecFiles
{
    /// <summary>Throws <see cref="SpecFileException"/> listing every problem of the document or the sweep.</summary>
    public static SweepSpec Load(string path)
    {
        var tree = SpecFiles.LoadTree(path);
        SpecDocumentKind.Check<SweepSpec>(tree, path);
        // Only a mapping has axes; a list or a scalar is left for FromTree to refuse ("expected a mapping").
        if (tree is JsonObject { } document && document["axes"] is JsonArray axes)
            foreach (var values in axes.Select(a => (a as JsonObject)?["values"]).OfType<JsonArray>())
                for (var i = 0; i < values.Count; i++)
                    if (values[i] is null)
                        values[i] = JsonValue.Create("null"); // YAML null: unset the field (SpecPaths)
                    else if (values[i] is JsonValue value && value.GetValueKind() != JsonValueKind.String)
                        values[i] = JsonValue.Create(value.ToJsonString());
        var spec = SpecFiles.FromTree<SweepSpec>(tree, path);
        var errors = spec.Validate();
        return errors.Count == 0 ? spec : throw new SpecFileException(path, errors);
    }
}
