namespace SegCluster.Vision.Data.Files;

/// <summary>
/// Raw mask value → train id (or 255 = ignore), as a 256-entry table. Values the format does not define are
/// errors that name the file and the value, never silently mapped.
/// </summary>
public sealed class LabelMapping
{
    private const short Invalid = -1;
    private readonly short[] _table;

    private LabelMapping(short[] table, string description)
    {
        _table = table;
        Description = description;
    }

    /// <summary>Human-readable rule, printed by `dataset inspect` and in errors.</summary>
    public string Description { get; }

    /// <summary>Values 0..K-1 are class ids, 255 is ignore, anything else is an error (VOC, folder).</summary>
    public static LabelMapping Identity(int numClasses)
    {
        var t = Table();
        for (int v = 0; v < numClasses; v++) t[v] = (short)v;
        t[SegmentationSample.IgnoreLabel] = SegmentationSample.IgnoreLabel;
        return new LabelMapping(t, $"0..{numClasses - 1} = class ids, 255 = ignore");
    }

    /// <summary>mmsegmentation's reduce_zero_label (ADE20K): 0 → ignore, k → k-1 for k in 1..K.</summary>
    public static LabelMapping ReduceZero(int numClasses)
    {
        var t = Table();
        t[0] = SegmentationSample.IgnoreLabel;
        for (int v = 1; v <= numClasses; v++) t[v] = (short)(v - 1);
        t[SegmentationSample.IgnoreLabel] = SegmentationSample.IgnoreLabel;
        return new LabelMapping(t, $"0 = ignore, 1..{numClasses} → 0..{numClasses - 1} (reduce_zero_label), 255 = ignore");
    }

    /// <summary>An explicit table: raw ids in [0, maxRaw] map through <paramref name="toTrain"/> (absent → ignore); 255 → ignore.</summary>
    public static LabelMapping FromTable(int maxRaw, IReadOnlyDictionary<int, int> toTrain, string description)
    {
        var t = Table();
        for (int v = 0; v <= maxRaw; v++) t[v] = toTrain.TryGetValue(v, out var id) ? (short)id : SegmentationSample.IgnoreLabel;
        t[SegmentationSample.IgnoreLabel] = SegmentationSample.IgnoreLabel;
        return new LabelMapping(t, description);
    }

    /// <summary>Maps <paramref name="raw"/> in place; throws <see cref="DatasetFileException"/> naming the file at the first undefined value.</summary>
    public void Apply(byte[] raw, string path)
    {
        for (int p = 0; p < raw.Length; p++)
        {
            var id = _table[raw[p]];
            if (id == Invalid)
                throw new DatasetFileException(path, $"mask value {raw[p]} at pixel {p} is out of range (allowed: {Description}).");
            raw[p] = (byte)id;
        }
    }

    private static short[] Table()
    {
        var t = new short[256];
        Array.Fill(t, Invalid);
        return t;
    }
}
