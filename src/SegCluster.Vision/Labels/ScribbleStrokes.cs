using SegCluster.Vision.Data;

namespace SegCluster.Vision.Labels;

/// <summary>
/// One image's scribbles as line segments (<see cref="ScribbleSynthesizer.Strokes"/>): a few per class, so a
/// training source can keep every image's scribbles for the whole run and only paint them per epoch.
/// </summary>
public sealed class ScribbleStrokes
{
    private readonly Segment[] _segments;

    internal ScribbleStrokes(int height, int width, Segment[] segments)
    {
        Height = height;
        Width = width;
        _segments = segments;
    }

    public int Height { get; }

    public int Width { get; }

    /// <summary>H·W class ids: the strokes in their classes, ignore elsewhere.</summary>
    public byte[] Paint()
    {
        var mask = new byte[Height * Width];
        Array.Fill(mask, SegmentationSample.IgnoreLabel);
        foreach (var s in _segments)
            for (int i = 0, p = s.Start; i < s.Count; i++, p += s.Stride)
                mask[p] = s.Class;
        return mask;
    }

    /// <summary>Pixels Start + i·Stride for i in [0, Count), all of class <paramref name="Class"/>.</summary>
    internal readonly record struct Segment(byte Class, int Start, int Count, int Stride);
}
