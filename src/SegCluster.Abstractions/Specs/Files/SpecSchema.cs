using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SegCluster.Abstractions.Specs.Files;

/// <summary>
/// Checks a JSON tree against a spec record type before deserialising, so each error names the field
/// (<c>training.learning_rate</c>), what was expected and, for unknown keys, the valid ones. Keys may be
/// written snake_case or camelCase; the tree is rewritten to snake_case, the canonical form.
/// </summary>
internal static class SpecSchema
{
    public static readonly JsonNamingPolicy Naming = JsonNamingPolicy.SnakeCaseLower;

    /// <param name="asWritten">The tree is a document as a person wrote it, where a field left out is a field not set, and
    /// two fields that contradict each other (<see cref="Exclusive"/>) are an error; false for a spec recorded with every
    /// field filled in (a checkpoint's).</param>
    public static JsonNode? Normalise(JsonNode? node, Type type, string path, List<string> errors, bool asWritten = true) =>
        Normalise(node, type, nullability: null, path, errors, asWritten);

    /// <summary>Pairs of fields of one record of which a document may set only one. The record cannot tell a default from a
    /// value written (training.steps is an int with a default), the document can: null counts as not set.</summary>
    private static readonly Dictionary<Type, (string First, string Second, string Why)> Exclusive = new()
    {
        [typeof(TrainingSpec)] = ("steps", "epochs", "epochs would decide the run's length and steps be ignored"),
    };

    /// <summary>Removes from <paramref name="tree"/>, a <paramref name="type"/> written whole (<see cref="SpecFiles.ToTree{T}"/>),
    /// the first field of each <see cref="Exclusive"/> pair whose second is set: the record holds both (training.steps keeps
    /// its default beside epochs), a document may set only one.</summary>
    public static void DropOverridden(JsonObject tree, Type type)
    {
        if (Exclusive.TryGetValue(type, out var pair) && tree[pair.Second] is not null) tree.Remove(pair.First);
        foreach (var (key, property) in Fields(type))
            if (IsRecord(property.PropertyType) && tree[key] is JsonObject child) DropOverridden(child, property.PropertyType);
    }

    /// <param name="nullability">The declared nullability of the field (of a list item, of a mapping value) where known:
    /// a null for a field declared non-nullable would otherwise reach validation as a null section.</param>
    private static JsonNode? Normalise(JsonNode? node, Type type, NullabilityInfo? nullability, string path, List<string> errors, bool asWritten)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (node is null)
        {
            var allowsNull = nullability is null ? !type.IsValueType || underlying != type : nullability.WriteState != NullabilityState.NotNull;
            if (!allowsNull)
                errors.Add($"{Field(path)}: null is not allowed; leave it out for the defaults (expected {Describe(type)}).");
            return null;
        }
        if (ElementType(underlying) is { } element)
        {
            if (node is not JsonArray array)
                return Mismatch(node, type, path, errors);
            var itemNullability = nullability?.ElementType ?? nullability?.GenericTypeArguments.FirstOrDefault();
            return new JsonArray(array.Select((item, i) => Normalise(item, element, itemNullability, $"{path}[{i}]", errors, asWritten)).ToArray());
        }
        if (DictionaryValueType(underlying) is { } valueType)
        {
            if (node is not JsonObject dict)
                return Mismatch(node, type, path, errors);
            var valueNullability = nullability?.GenericTypeArguments.LastOrDefault();
            var copy = new JsonObject();
            foreach (var (key, value) in dict)
                copy[key] = Normalise(value, valueType, valueNullability, Join(path, key), errors, asWritten);
            return copy;
        }
        if (IsRecord(underlying))
            return node is JsonObject obj ? Record(obj, underlying, path, errors, asWritten) : Mismatch(node, type, path, errors);
        return ScalarMatches(node, underlying) ? node.DeepClone() : Mismatch(node, type, path, errors);
    }

    /// <summary>Settable properties of a spec record, by canonical key.</summary>
    public static IReadOnlyDictionary<string, PropertyInfo> Fields(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .ToDictionary(p => Naming.ConvertName(p.Name));

    private static JsonObject Record(JsonObject obj, Type type, string path, List<string> errors, bool asWritten)
    {
        var fields = Fields(type);
        var nullabilities = new NullabilityInfoContext(); // not thread-safe: one per call
        var result = new JsonObject();
        foreach (var (key, value) in obj)
        {
            var canonical = Naming.ConvertName(key);
            if (!fields.TryGetValue(canonical, out var property))
            {
                errors.Add($"{Field(Join(path, key))}: unknown field{FieldSuggestion.Hint(canonical, fields.Keys)}; valid fields here: {string.Join(", ", fields.Keys)}.");
                continue;
            }
            if (result.ContainsKey(canonical))
            {
                errors.Add($"{Field(Join(path, canonical))}: given twice (as '{key}' and another spelling).");
                continue;
            }
            result[canonical] = Normalise(value, property.PropertyType, nullabilities.Create(property), Join(path, canonical), errors, asWritten);
        }
        if (asWritten && Exclusive.TryGetValue(type, out var pair) && result[pair.First] is not null && result[pair.Second] is not null)
            errors.Add($"{Join(path, pair.First)} and {Join(path, pair.Second)}: both are set, and {pair.Why}; set one of them.");
        return result;
    }

    private static JsonNode? Mismatch(JsonNode node, Type type, string path, List<string> errors)
    {
        var shown = node is JsonValue ? node.ToJsonString() : node.GetValueKind() == JsonValueKind.Array ? "a list" : "a mapping";
        errors.Add($"{Field(path)}: expected {Describe(type)}, got {shown}.");
        return null;
    }

    private static bool ScalarMatches(JsonNode node, Type type)
    {
        if (node is not JsonValue value)
            return type == typeof(object) || type == typeof(JsonNode);
        var kind = value.GetValueKind();
        if (type == typeof(string)) return kind == JsonValueKind.String;
        if (type == typeof(bool)) return kind is JsonValueKind.True or JsonValueKind.False;
        if (type == typeof(int) || type == typeof(long))
            return kind == JsonValueKind.Number && JsonSerializer.SerializeToElement(value) is var e
                && (type == typeof(int) ? e.TryGetInt32(out _) : e.TryGetInt64(out _));
        if (type == typeof(double) || type == typeof(float)) return kind == JsonValueKind.Number;
        return true; // other types (JsonNode, object): accepted as written
    }

    private static string Describe(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        var text = t == typeof(string) ? "a string"
            : t == typeof(bool) ? "true or false"
            : t == typeof(int) || t == typeof(long) ? "an integer"
            : t == typeof(double) || t == typeof(float) ? "a number"
            : ElementType(t) is not null ? "a list"
            : "a mapping";
        return t == type ? text : text + " or null";
    }

    private static bool IsRecord(Type type) => type.IsClass && type != typeof(string) && type.GetConstructor(Type.EmptyTypes) is not null;

    private static Type? ElementType(Type type)
    {
        if (type.IsArray) return type.GetElementType();
        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type) || DictionaryValueType(type) is not null) return null;
        return type.IsGenericType && type.GetGenericArguments() is [var element] ? element : null;
    }

    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && type.GetGenericArguments() is [var key, var value] && key == typeof(string)
        && (type.GetGenericTypeDefinition() == typeof(Dictionary<,>) || type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)
            || type.GetGenericTypeDefinition() == typeof(IDictionary<,>))
            ? value : null;

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static string Field(string path) => path.Length == 0 ? "(document)" : path;
}
