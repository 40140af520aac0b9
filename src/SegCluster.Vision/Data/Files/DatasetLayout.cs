namespace SegCluster.Vision.Data.Files;

/// <summary>
/// What a reader found on disk: the format, the class names (index = train id), the raw-mask → train-id mapping,
/// and the samples of each split in a stable (ordinal by id) order. Nothing is decoded yet.
/// </summary>
public sealed record DatasetLayout(
    DatasetFormat Format,
    string Root,
    IReadOnlyList<string> ClassNames,
    LabelMapping Mapping,
    IReadOnlyDictionary<string, IReadOnlyList<SampleFiles>> Splits)
{
    public int NumClasses => ClassNames.Count;

    /// <summary>The samples of <paramref name="split"/>; throws naming the splits that exist.</summary>
    public IReadOnlyList<SampleFiles> Split(string split) =>
        Splits.TryGetValue(split, out var samples)
            ? samples
            : throw new ArgumentException($"split '{split}' is not in the {DatasetFormats.Name(Format)} dataset at {Root}; splits: {string.Join(", ", Splits.Keys)}.", nameof(split));
}
