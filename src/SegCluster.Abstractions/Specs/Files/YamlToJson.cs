using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SegCluster.Abstractions.Specs.Files;

/// <summary>
/// Converts a YAML document to a JSON tree with YAML 1.2 core-schema scalars: plain true/false, null/~,
/// integers and floats become typed values; quoted scalars stay strings ("1e-3" quoted is text).
/// </summary>
internal static class YamlToJson
{
    public static JsonNode? Convert(string text)
    {
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(text));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way, not with a YamlException, on some unclosed flow collections: a '{' or
            // '[' left open before the next key's line (`dataset: { height: 32` then `model: ...`). Where it stopped is
            // the best position there is.
            var at = scanner.CurrentPosition;
            throw new YamlException(at, at, "the YAML parser stopped here; is a '{' or '[' above left open?");
        }
        // A second document (after ---) was ignored without a word: its fields never reached the run. A trailing --- with
        // nothing after it is no document.
        var documents = stream.Documents.Where(d => d.RootNode is not YamlScalarNode { Value: null or "" }).ToList();
        if (documents.Count > 1)
            throw new YamlException(documents[1].RootNode.Start, documents[1].RootNode.End,
                $"the file holds {documents.Count} YAML documents (separated by ---); a spec is one document.");
        return documents.Count == 0 ? null : Node(documents[0].RootNode);
    }

    private static JsonNode? Node(YamlNode node) => node switch
    {
        YamlMappingNode map => Object(map),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(Node).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new YamlException(node.Start, node.End, $"unsupported YAML node '{node.NodeType}' (aliases are not supported)."),
    };

    private static JsonObject Object(YamlMappingNode map)
    {
        var result = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            var name = key is YamlScalarNode { Value: { } k } ? k
                : throw new YamlException(key.Start, key.End, "mapping keys must be plain names.");
            result[name] = Node(value);
        }
        return result;
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
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
