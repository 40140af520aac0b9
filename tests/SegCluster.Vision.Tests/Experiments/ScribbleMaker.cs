using SegCluster.Vision.Data;

namespace SegCluster.Vision.Tests.Experiments;

/// <summary>
/// Minimal internal scribble generator for the §5 experiment (deliberately NOT the Vision/Labels
/// ScribbleSynthesizer another branch builds): per class present in a label map, erode its mask by
/// <c>radius</c> (Chebyshev), then keep a cross through the eroded region: its pixels on the median
/// row and on the median column. If erosion empties a small region the un-eroded mask is used.
/// Every other pixel becomes 255 (ignore).
/// </summary>
internal static class ScribbleMaker
{
    public static SegmentationSample Scribble(SegmentationSample sample, int radius = 2)
    {
        int h = sample.Height, w = sample.Width;
        var label = sample.Label;
        var scribble = Enumerable.Repeat(SegmentationSample.IgnoreLabel, h * w).ToArray();
        foreach (var c in label.Where(v => v != SegmentationSample.IgnoreLabel).Distinct())
        {
            var region = Erode(label, c, h, w, radius);
            if (region.Count == 0) region = Erode(label, c, h, w, 0);
            int row = region.Select(p => p / w).Order().ElementAt(region.Count / 2);
            int col = region.Select(p => p % w).Order().ElementAt(region.Count / 2);
            foreach (var p in region.Where(p => p / w == row || p % w == col))
                scribble[p] = c;
        }
        return sample with { Label = scribble };
    }

    private static List<int> Erode(byte[] label, byte c, int h, int w, int radius)
    {
        var kept = new List<int>();
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                bool inside = true;
                for (int dy = -radius; dy <= radius && inside; dy++)
                    for (int dx = -radius; dx <= radius && inside; dx++)
                    {
                        int yy = y + dy, xx = x + dx;
                        inside = yy >= 0 && yy < h && xx >= 0 && xx < w && label[yy * w + xx] == c;
                    }
                if (inside) kept.Add(y * w + x);
            }
        return kept;
    }
}
