using System.Globalization;
using System.Reflection;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Abstractions.Specs;

/// <summary>
/// Addresses one field of an <see cref="ExperimentSpec"/> by a dotted path ("training.learning_rate", "labels.factor",
/// "seed") and returns a copy of the spec with that field replaced. Segments match snake_case, camelCase or PascalCase
/// names. Unknown paths and values of the wrong type throw <see cref="ArgumentException"/> naming the path and the choices.
/// </summary>
public static class SpecPaths
{
    /// <summary>The canonical (snake_case) form of a valid path; throws for an unknown one.</summary>
    public static string Canonical(string path) =>
        string.Join('.', Resolve(path).Select(p => SnakeCase(p.Name)));

    /// <summary>A copy of <paramref name="spec"/> with the field at <paramref name="path"/> set to <paramref name="value"/>
    /// (parsed to the field's type with the invariant culture; "null" unsets an optional field).</summary>
    public static ExperimentSpec With(ExperimentSpec spec, string path, string value)
    {
        var chain = Resolve(path);
        var leaf = chain[^1];
        return (ExperimentSpec)Replace(spec, chain, 0, Parse(value, leaf, Canonical(path)));
    }

    /// <summary>True when <paramref name="path"/> names a settable field; otherwise <paramref name="error"/> says what is valid.</summary>
    public static bool IsValid(string path, out string error)
    {
        try
        {
            Resolve(path);
            error = "";
            return true;
        }
        catch (ArgumentException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>Parses <paramref name="value"/> to the type of the field at <paramref name="path"/>; the error names both.</summary>
    public static bool IsValidValue(string path, string value, out string error)
    {
        try
        {
            Parse(value, Resolve(path)[^1], Canonical(path));
            error = "";
            return true;
        }
        catch (ArgumentException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>True when the field at a valid <paramref name="path"/> holds a number (int or double, nullable or not).</summary>
    public static bool IsNumeric(string path) => FieldType(path) is var type && (type == typeof(int) || type == typeof(double));

    /// <summary>Whether the field takes whole numbers only.</summary>
    public static bool IsInteger(string path) => FieldType(path) == typeof(int);

    private static Type FieldType(string path)
    {
        var type = Resolve(path)[^1].PropertyType;
        return Nullable.GetUnderlyingType(type) ?? type;
    }

    private static PropertyInfo[] Resolve(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new ArgumentException("path: empty; use a spec path such as 'training.learning_rate' or 'labels.factor'.");
        var type = typeof(ExperimentSpec);
        var segments = path.Split('.');
        var chain = new PropertyInfo[segments.Length];
        for (var i = 0; i < segments.Length; i++)
        {
            var fields = Settable(type);
            var match = fields.FirstOrDefault(p => Normalise(p.Name) == Normalise(segments[i]));
            var prefix = string.Join('.', segments.Take(i).Select(s => SnakeCase(s)));
            if (match is null)
            {
                var names = fields.Select(f => SnakeCase(f.Name)).ToList();
                throw new ArgumentException(
                    $"path '{path}': '{segments[i]}' is not a field of {(i == 0 ? "the experiment spec" : prefix)}" +
                    $"{FieldSuggestion.Hint(SnakeCase(segments[i]), names)}; valid: {string.Join(", ", names)}.");
            }
            var isRecord = IsSpecRecord(match.PropertyType);
            if (i < segments.Length - 1 && !isRecord)
                throw new ArgumentException($"path '{path}': '{segments[i]}' is a value, not a section; stop the path there.");
            if (i == segments.Length - 1 && isRecord)
                throw new ArgumentException(
                    $"path '{path}' names a whole section; add a field: {string.Join(", ", Settable(match.PropertyType).Select(f => $"{path}.{SnakeCase(f.Name)}"))}.");
            chain[i] = match;
            type = match.PropertyType;
        }
        return chain;
    }

    private static PropertyInfo[] Settable(Type type) => [.. SpecSchema.Fields(type).Values];

    private static bool IsSpecRecord(Type type) => type.IsClass && type != typeof(string) && type.Namespace == typeof(ExperimentSpec).Namespace;

    private static object Replace(object target, PropertyInfo[] chain, int depth, object? value)
    {
        // Records clone through their compiler-generated copy method; init-only setters accept reflection.
        var copy = target.GetType().GetMethod("<Clone>$")!.Invoke(target, null)!;
        var property = chain[depth];
        var replacement = depth == chain.Length - 1 ? value : Replace(property.GetValue(target)!, chain, depth + 1, value);
        property.SetValue(copy, replacement);
        return copy;
    }

    private static object? Parse(string value, PropertyInfo field, string path)
    {
        var type = field.PropertyType;
        var target = Nullable.GetUnderlyingType(type) ?? type;
        var inv = CultureInfo.InvariantCulture;
        // "null" (a YAML null among a sweep's values) unsets an optional field, string? included (training.precision: the
        // device's default); an empty value does too, except for a string, where it is text.
        var optional = new NullabilityInfoContext().Create(field).WriteState == NullabilityState.Nullable;
        if (optional && (value == "null" || (value.Length == 0 && target != typeof(string)))) return null;
        if (target == typeof(string)) return value;
        if (target == typeof(int) && int.TryParse(value, NumberStyles.Integer, inv, out var i)) return i;
        if (target == typeof(double) && double.TryParse(value, NumberStyles.Float, inv, out var d)) return d;
        if (target == typeof(bool) && bool.TryParse(value, out var b)) return b;
        var expected = target == typeof(int) ? "an integer" : target == typeof(double) ? "a number" : target == typeof(bool) ? "true or false" : target.Name;
        throw new ArgumentException($"{path}: '{value}' is not {expected}.");
    }

    private static string Normalise(string name) => name.Replace("_", "").Replace("-", "").ToLowerInvariant();

    /// <summary>LearningRate → learning_rate: the spec files' canonical key.</summary>
    public static string SnakeCase(string name) => SpecSchema.Naming.ConvertName(name);
}
