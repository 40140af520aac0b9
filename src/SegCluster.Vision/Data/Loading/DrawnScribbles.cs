using System.Collections.Concurrent;
using SegCluster.Vision.Labels;

namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// The scribbles a training source gives its split's images (PAPERS.md §5): each drawn from the image's full mask the
/// first time it is loaded and kept as strokes (<see cref="ScribbleStrokes"/>, a few hundred bytes), so later epochs
/// only paint them: drawing takes several times a warm load at full resolution (bench data-loading), painting does not.
/// </summary>
public sealed class DrawnScribbles(ScribbleSynthesizer synthesizer) : IWeakAnnotation
{
    private readonly ConcurrentDictionary<int, ScribbleStrokes> _strokes = new();

    public string Key => $"scribbles:{synthesizer.NumClasses}:{synthesizer.Seed}:{synthesizer.Margin}";

    /// <summary>Image <paramref name="index"/>'s scribbles as a mask; <paramref name="label"/> is its full mask (read on first use only).</summary>
    public byte[] Paint(int index, byte[] label, int height, int width) =>
        _strokes.GetOrAdd(index, static (key, mask) => mask.synthesizer.Strokes(mask.label, mask.height, mask.width, key), (synthesizer, label, height, width)).Paint();
}
