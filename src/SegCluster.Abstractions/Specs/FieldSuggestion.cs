namespace SegCluster.Abstractions.Specs;

/// <summary>
/// The "did you mean" of an unknown spec field: users arrive with PyTorch, mmsegmentation and Ray Tune habits
/// (<c>lr</c>, <c>batch_size</c>) or a typo (<c>learing_rate</c>), and the list of valid fields alone leaves them to
/// spot the one they meant.
/// </summary>
public static class FieldSuggestion
{
    /// <summary>The field of <paramref name="fields"/> (snake_case) that <paramref name="given"/> most likely meant, or null.
    /// In order: the initials of a field (<c>lr</c>, <c>wd</c>); a typo within an edit distance of a third of the
    /// name; the one field that starts with the same word (<c>batch_size</c> → <c>batch_per_worker</c>).</summary>
    public static string? For(string given, IEnumerable<string> fields)
    {
        var key = given.Trim().ToLowerInvariant();
        var names = fields.ToList();
        if (key.Length == 0 || names.Contains(key)) return null;
        if (key.Length >= 2 && names.FirstOrDefault(f => f.Contains('_') && Initials(f) == key) is { } abbreviated) return abbreviated;
        var limit = Math.Max(1, key.Length / 3);
        var typo = names.Select(f => (Field: f, Distance: Distance(key, f))).Where(c => c.Distance <= limit).OrderBy(c => c.Distance).FirstOrDefault();
        if (typo.Field is not null) return typo.Field;
        var word = key.Split('_')[0];
        var sameWord = names.Where(f => word.Length >= 3 && f.Split('_')[0] == word).ToList();
        return sameWord.Count == 1 ? sameWord[0] : null;
    }

    /// <summary>" (did you mean 'x'?)" or "", for appending to an error.</summary>
    public static string Hint(string given, IEnumerable<string> fields) =>
        For(given, fields) is { } field ? $" (did you mean '{field}'?)" : "";

    private static string Initials(string field) => string.Concat(field.Split('_', StringSplitOptions.RemoveEmptyEntries).Select(w => w[0]));

    // Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1.
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
