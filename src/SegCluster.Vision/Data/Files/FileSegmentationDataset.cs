namespace SegCluster.Vision.Data.Files;

/// <summary>
/// One split of a dataset on disk. <see cref="Decode"/> reads a sample's image and mask and maps the mask to train
/// ids; <see cref="Get"/> also normalises it (native size). Stateless apart from the layout, so thread-safe.
/// Every problem with a file is a <see cref="DatasetFileException"/> naming that file.
/// </summary>
public sealed class FileSegmentationDataset : ISegmentationDataset
{
    private readonly DatasetLayout _layout;
    private readonly IReadOnlyList<SampleFiles> _samples;

    public FileSegmentationDataset(DatasetLayout layout, string split)
    {
        ArgumentNullException.ThrowIfNull(layout);
        _layout = layout;
        _samples = layout.Split(split);
        if (_samples.Count == 0)
            throw new ArgumentException($"split '{split}' of the {DatasetFormats.Name(layout.Format)} dataset at {layout.Root} has no samples.", nameof(split));
        Split = split;
    }

    public string Split { get; }

    public DatasetLayout Layout => _layout;

    public int Count => _samples.Count;

    public int NumClasses => _layout.NumClasses;

    public IReadOnlyList<string> ClassNames => _layout.ClassNames;

    public SampleFiles Files(int index) => _samples[index];

    public DecodedSample Decode(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {Count})");
        var files = _samples[index];
        var (rgb, h, w) = ImageDecoder.DecodeRgb(files.ImagePath);
        var (label, mh, mw) = ImageDecoder.DecodeMask(files.MaskPath, files.Encoding);
        if (mh != h || mw != w)
            throw new DatasetFileException(files.MaskPath, $"mask is {mh}x{mw} but its image {files.ImagePath} is {h}x{w}.");
        _layout.Mapping.Apply(label, files.MaskPath);
        return new DecodedSample(rgb, label, h, w);
    }

    public SegmentationSample Get(int index) => ImageNormalization.ToSample(Decode(index));
}
