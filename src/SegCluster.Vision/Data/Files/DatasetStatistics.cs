namespace SegCluster.Vision.Data.Files;

/// <summary>Reads every (or the first <c>limit</c>) sample of each split as training reads it: images and masks decoded in
/// full (a header alone passed a truncated image that training then could not use), masks counted for the histogram.</summary>
public static class DatasetStatistics
{
    /// <summary>Statistics of <paramref name="split"/>; <paramref name="progress"/> gets one tick per sample.</summary>
    public static SplitStatistics Inspect(DatasetLayout layout, string split, int? limit = null, Action? progress = null)
    {
        var samples = layout.Split(split);
        var n = Math.Min(samples.Count, limit ?? int.MaxValue);
        var sizes = new Dictionary<(int, int), int>();
        var pixels = new long[layout.NumClasses];
        var images = new int[layout.NumClasses];
        long ignore = 0;
        var problems = new List<DatasetFileException>();
        var present = new bool[layout.NumClasses];
        for (int i = 0; i < n; i++)
        {
            var files = samples[i];
            try
            {
                var (_, height, width) = ImageDecoder.DecodeRgb(files.ImagePath);
                (int Height, int Width) size = (height, width);
                sizes[size] = sizes.GetValueOrDefault(size) + 1;
                var (label, h, w) = ImageDecoder.DecodeMask(files.MaskPath, files.Encoding);
                if ((h, w) != size)
                    throw new DatasetFileException(files.MaskPath, $"mask is {h}x{w} but its image {files.ImagePath} is {size.Height}x{size.Width}.");
                layout.Mapping.Apply(label, files.MaskPath);
                Array.Clear(present);
                foreach (var v in label)
                {
                    if (v == SegmentationSample.IgnoreLabel) { ignore++; continue; }
                    pixels[v]++;
                    present[v] = true;
                }
                for (int c = 0; c < present.Length; c++) if (present[c]) images[c]++;
            }
            catch (DatasetFileException e)
            {
                problems.Add(e);
            }
            progress?.Invoke();
        }
        return new SplitStatistics(split, samples.Count, n, sizes, pixels, images, ignore, problems);
    }
}
