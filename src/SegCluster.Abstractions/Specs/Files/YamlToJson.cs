using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace SegCluster.Abstractions.Specs.Files;

/// <summary>
/// Converts a YAML document to a JSON tree with YAML 1.2 core-schema scalars: plain true/false, null/~,
/// integers and floats become typed values; quoted scalars stay strings ("1e-3" quoted is text).
/// </summary>
/// <remarks>
/// Specs arrive from the network (POST /api/experiments/{id} with a YAML content type), so the tree is built from the
/// parser's events with an explicit stack, never YamlDotNet's recursive representation model: a 400 KB <c>a: [[[[…]]]]</c>
/// overflowed its stack (an uncatchable crash of the node), and it resolves aliases into shared nodes, so a 393-byte
/// "billion laughs" expanded to gigabytes. Here nesting stops at <see cref="MaxDepth"/> (the JSON path's limit,
/// JsonDocumentOptions' default) and any anchor or alias is refused where it stands: a spec is a few plain fields.
/// </remarks>
internal static class YamlToJson
{
    /// <summary>Deepest nesting of mappings and sequences accepted, as for JSON specs.</summary>
    public const int MaxDepth = 64;

    public static JsonNode? Convert(string text)
    {
        var scanner = new Scanner(new StringReader(text));
        var parser = new Parser(scanner);
        try
        {
            return Build(parser);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way, not with a YamlException, on some unclosed flow collections: a '{' or
            // '[' left open before the next key's line (`dataset: { height: 32` then `model: ...`). Where it stopped is
            // the best position there is.
            var at = scanner.CurrentPosition;
            throw new YamlException(at, at, "the YAML parser stopped here; is a '{' or '[' above left open?");
        }
    }

    /// <summary>One open mapping or sequence; a mapping also holds the key whose value comes next.</summary>
    private sealed class Open(JsonNode container, Mark start)
    {
        public JsonNode Container { get; } = container;
        public Mark Start { get; } = start;
        public string? Key { get; set; }
        public bool ExpectsKey => Container is JsonObject && Key is null;
    }

    private static JsonNode? Build(IParser parser)
    {
        var open = new Stack<Open>();
        JsonNode? root = null;
        var documents = 0;
        Mark? second = null;
        while (parser.MoveNext())
        {
            var e = parser.Current!;
            if (e is NodeEvent { Anchor.IsEmpty: false } anchored)
                throw new YamlException(e.Start, e.End,
                    $"anchor '&{anchored.Anchor}': YAML anchors and aliases are not supported in a spec; write the value out.");
            JsonNode? value;
            var start = e.Start;
            switch (e)
            {
                case AnchorAlias alias:
                    throw new YamlException(e.Start, e.End,
                        $"alias '*{alias.Value}': YAML anchors and aliases are not supported in a spec; write the value out.");
                case MappingStart or SequenceStart:
                    if (open.TryPeek(out var parent) && parent.ExpectsKey)
                        throw new YamlException(e.Start, e.End, "mapping keys must be plain names.");
                    if (open.Count == MaxDepth)
                        throw new YamlException(e.Start, e.End,
                            $"nested deeper than {MaxDepth} levels; a spec is a few levels deep.");
                    open.Push(new Open(e is MappingStart ? new JsonObject() : new JsonArray(), e.Start));
                    continue;
                case MappingEnd or SequenceEnd:
                    var closed = open.Pop();
                    (value, start) = (closed.Container, closed.Start);
                    break;
                case Scalar scalar when open.TryPeek(out var map) && map.ExpectsKey:
                    if (((JsonObject)map.Container).ContainsKey(scalar.Value))
                        throw new YamlException(e.Start, e.End, $"Duplicate key '{scalar.Value}': a key may be given once.");
                    map.Key = scalar.Value;
                    continue;
                case Scalar scalar:
                    value = Scalar(scalar);
                    // A document of nothing (an empty file, a trailing ---) is no document.
                    if (open.Count == 0 && scalar.Value.Length == 0)
                        continue;
                    break;
                default: // stream and document boundaries, comments
                    continue;
            }
            if (open.TryPeek(out var into))
            {
                if (into.Container is JsonArray array)
                    array.Add(value);
                else
                {
                    into.Container[into.Key!] = value;
                    into.Key = null;
                }
                continue;
            }
            // A second document (after ---) was ignored without a word: its fields never reached the run.
            if (++documents == 1)
                root = value;
            else
                second ??= start;
        }
        if (second is { } at)
            throw new YamlException(at, at, $"the file holds {documents} YAML documents (separated by ---); a spec is one document.");
        return root;
    }

    private static JsonNode? Scalar(Scalar scalar)
    {
        var value = scalar.Value;
        if (scalar.Style is not ScalarStyle.Plain)
            return JsonValue.Create(value);
        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL": return null;
            case "true" or "True" or "TRUE": return JsonValue.Create(true);
            case "false" or "False" or "FALSE": return JsonValue.Create(false);
        }
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            return JsonValue.Create(integer);
        // NaN and Infinity stay text (YAML's core schema spells them .nan and .inf): a JSON tree cannot hold them, and the
        // field's type check then names the field instead of the writer throwing from deep inside serialisation.
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
            return JsonValue.Create(real);
        return JsonValue.Create(value);
    }
}
