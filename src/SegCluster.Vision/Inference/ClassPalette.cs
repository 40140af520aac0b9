using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Inference;

/// <summary>Colours of classes for prediction images: Cityscapes' own colours (labels.py) for its 19 classes, the
/// PASCAL VOC colour map for any other class list (index = class id). Ignore (255) is black.</summary>
public sealed class ClassPalette
{
    private static readonly (byte R, byte G, byte B)[] CityscapesColours =
    [
        (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153), (250, 170, 30),
        (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142),
        (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
    ];

    private readonly (byte R, byte G, byte B)[] _colours;

    private ClassPalette((byte R, byte G, byte B)[] colours) => _colours = colours;

    public static ClassPalette For(IReadOnlyList<string> classNames) =>
        classNames.SequenceEqual(CityscapesReader.ClassNames)
            ? new ClassPalette(CityscapesColours)
            : new ClassPalette(Enumerable.Range(0, 256).Select(VocPalette.Colour).ToArray());

    public (byte R, byte G, byte B) Colour(byte label) =>
        label == Data.SegmentationSample.IgnoreLabel || label >= _colours.Length ? ((byte)0, (byte)0, (byte)0) : _colours[label];
}
