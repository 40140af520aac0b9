namespace SegCluster.Bench;

/// <summary>"--name value" pairs of a bench command line; unknown names are an error that lists the valid ones.</summary>
public sealed class BenchArguments
{
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);

    public BenchArguments(IReadOnlyList<string> args, IReadOnlyList<string> valid)
    {
        for (int i = 0; i < args.Count; i += 2)
        {
            if (!valid.Contains(args[i]) || i + 1 >= args.Count)
                throw new ArgumentException($"'{args[i]}' is not an option with a value here; valid: {string.Join(", ", valid)}.");
            values[args[i]] = args[i + 1];
        }
    }

    public string Text(string name, string fallback) => values.GetValueOrDefault(name, fallback);

    public int Int(string name, int fallback) =>
        values.TryGetValue(name, out var v) ? int.TryParse(v, out var n) ? n : throw new ArgumentException($"{name}: '{v}' is not an integer.") : fallback;

    public double Double(string name, double fallback) =>
        values.TryGetValue(name, out var v)
            ? double.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var x) ? x : throw new ArgumentException($"{name}: '{v}' is not a number.")
            : fallback;

    public IReadOnlyList<T> List<T>(string name, IReadOnlyList<T> fallback, Func<string, T> parse) =>
        values.TryGetValue(name, out var v) ? v.Split(',').Select(parse).ToArray() : fallback;
}
