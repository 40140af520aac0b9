namespace SegCluster.Abstractions.Specs;

/// <summary>
/// Which data to train and validate on: the built-in synthetic scenes (kind "synthetic"), or a dataset on disk
/// (kind "files": Cityscapes, PASCAL VOC 2012, ADE20K or the generic folder layout at <see cref="Path"/>). For files,
/// Height × Width is the training crop and the evaluation size; NumClasses, TrainCount and ValidationCount are
/// filled in from the dataset when the experiment starts.
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.DatasetSpec")]
public sealed record DatasetSpec
{
    public const string Synthetic = "synthetic";
    public const string Files = "files";

    /// <summary>The largest image side a spec (height, width) or a size option takes: a forward pass at more than that
    /// asks libtorch for more memory than a machine has, and fails natively.</summary>
    public const int MaxSide = 8192;

    /// <summary>The image side nearest <paramref name="side"/> that is a multiple of <paramref name="multiple"/> and at most
    /// <see cref="MaxSide"/>: what an error suggests.</summary>
    public static int NearestSide(int side, int multiple) =>
        Math.Clamp((int)Math.Round(side / (double)multiple) * multiple, multiple, MaxSide / multiple * multiple);
    public const string AutoFormat = "auto";

    /// <summary>Kinds a spec may name.</summary>
    public static IReadOnlyList<string> Kinds { get; } = [Synthetic, Files];

    /// <summary>On-disk formats a spec may name (the readers of SegCluster.Vision.Data.Files).</summary>
    public static IReadOnlyList<string> Formats { get; } = [AutoFormat, "cityscapes", "voc", "ade20k", "folder"];

    [Id(0)] public string Kind { get; init; } = Synthetic;
    [Id(1)] public int NumClasses { get; init; } = 6;
    [Id(2)] public int Height { get; init; } = 64;
    [Id(3)] public int Width { get; init; } = 64;
    [Id(4)] public int TrainCount { get; init; } = 2048;
    [Id(5)] public int ValidationCount { get; init; } = 128;
    /// <summary>Kind "files": the dataset's root folder.</summary>
    [Id(6)] public string? Path { get; init; }
    /// <summary>Kind "files": one of <see cref="Formats"/>; "auto" detects it from the folders.</summary>
    [Id(7)] public string Format { get; init; } = AutoFormat;
    [Id(8)] public string TrainSplit { get; init; } = "train";
    [Id(9)] public string ValidationSplit { get; init; } = "val";
    /// <summary>Kind "files": random scale range of the training augmentation (1, 1 = none).</summary>
    [Id(10)] public double MinScale { get; init; } = 0.5;
    [Id(11)] public double MaxScale { get; init; } = 2.0;
    [Id(12)] public double FlipProbability { get; init; } = 0.5;
    /// <summary>Kind "files": brightness, contrast and saturation jitter, each a factor in [1-j, 1+j].</summary>
    [Id(13)] public double ColorJitter { get; init; } = 0.2;
    /// <summary>Kind "files": the share of a split's samples that may be unusable (corrupt image, missing mask, id out of
    /// range; each is trained as all-ignore and logged) before the run stops with an error. A dataset whose masks are all
    /// wrong would otherwise train to the end on zero gradients.</summary>
    [Id(14)] public double MaxInvalidFraction { get; init; } = 0.05;

    /// <summary>Name that identifies the data itself (not the run): equal specs share shard grains.</summary>
    public string Identity(int seed) => Kind == Files
        ? $"{Format}:{TrainSplit}:{Height}x{Width}:{Path}"
        : $"{Kind}-{NumClasses}c-{Height}x{Width}-seed{seed}";
}
