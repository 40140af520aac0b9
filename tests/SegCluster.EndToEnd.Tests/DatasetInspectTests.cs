using SkiaSharp;

namespace SegCluster.EndToEnd.Tests;

/// <summary>`segcluster dataset inspect` through the real CLI on a folder dataset written as PNG files.</summary>
public sealed class DatasetInspectTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);
    private readonly string _root = Directory.CreateTempSubdirectory("segcluster-inspect-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Inspect_prints_the_format_counts_sizes_histogram_and_the_bad_file()
    {
        File.WriteAllText(Path.Combine(_root, "classes.json"), """["background", "cat", "dog"]""");
        for (int i = 0; i < 3; i++)
        {
            Png(Path.Combine(_root, "images", $"img{i}.png"), 8, 12, (_, _) => new SKColor(10, 20, 30));
            // left half background (0), right half cat (1); img2's mask has a 9: out of range for 3 classes
            Png(Path.Combine(_root, "masks", $"img{i}.png"), 8, 12, (x, _) => Grey(x < 6 ? 0 : i == 2 ? 9 : 1));
        }

        // Read through a pipe, as a log would: the header line stays whole (Spectre alone would wrap it at 80 columns).
        using var cli = CliProcess.StartAt(CliProcess.DefaultDll, new Dictionary<string, string?> { ["COLUMNS"] = null }, "dataset", "inspect", _root);
        var (exit, stdout, stderr) = await cli.WaitAsync(Limit);

        Assert.True(exit == 1, stderr + stdout);  // 1 of 3 unusable: training would stop at max_invalid_fraction 0.05
        Assert.Contains(stdout.Split('\n'), line => line.Contains($"folder dataset at {_root}: 3 classes; masks:"));
        Assert.Contains("8x12: 3", stdout);            // image sizes
        Assert.Matches(@"background\s*│\s*96\b", stdout);  // 2 usable masks × 48 background pixels
        Assert.Matches(@"cat\s*│\s*96\b", stdout);
        Assert.Contains("1 unusable sample", stdout);
        Assert.Contains("img2.png: mask value 9", stdout);
        Assert.Contains("training on 'train' would stop: 1 of its 3 samples", stdout);
    }

    /// <summary>Inspect decodes images as training does: a PNG cut after its header passed a header read ("unusable 0") and
    /// then stopped training. One bad sample in 20 is within max_invalid_fraction 0.05 (exit 0); with 0.01 it is not.</summary>
    [Fact]
    public async Task A_truncated_image_is_unusable_and_the_exit_code_follows_the_training_limit()
    {
        File.WriteAllText(Path.Combine(_root, "classes.json"), """["background", "cat"]""");
        for (int i = 0; i < 20; i++)
        {
            Png(Path.Combine(_root, "images", $"img{i:00}.png"), 16, 16, (x, y) => new SKColor((byte)(x * 16), (byte)(y * 16), 30));
            Png(Path.Combine(_root, "masks", $"img{i:00}.png"), 16, 16, (x, _) => Grey(x < 8 ? 0 : 1));
        }
        var cut = Path.Combine(_root, "images", "img07.png");
        File.WriteAllBytes(cut, File.ReadAllBytes(cut)[..60]);  // signature and IHDR survive: the size is still readable

        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "dataset", "inspect", _root);
        var (strict, strictOut, _) = await CliProcess.RunAsync(Limit, "dataset", "inspect", _root, "--max-invalid-fraction", "0.01");

        Assert.True(exit == 0, stderr + stdout);
        Assert.Contains("1 unusable sample", stdout);
        Assert.Contains("img07.png", stdout);
        Assert.Equal(1, strict);
        Assert.Contains("would stop: 1 of its 20 samples", strictOut);

        // The first 10 of 20 hold the bad one: 10% of the sample, under the split's limit of 1 (5% of 20) but over 5% of 10.
        var (sampled, sampledOut, sampledErr) = await CliProcess.RunAsync(Limit, "dataset", "inspect", _root, "--limit", "10");
        Assert.True(sampled == 0, sampledErr + sampledOut);
        Assert.Contains("at this rate training on 'train' would stop: 1 of the 10 inspected samples", sampledOut);
    }

    [Fact]
    public async Task A_folder_that_is_no_dataset_exits_2_and_lists_the_layouts()
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "dataset", "inspect", _root);
        Assert.Equal(2, exit);
        Assert.Contains("error: ", stderr);
        Assert.Contains("no dataset format recognised", stderr);
        Assert.Contains("leftImg8bit/", stderr);
        Assert.Equal("", stdout);
    }

    private static SKColor Grey(int v) => new((byte)v, (byte)v, (byte)v);

    private static void Png(string path, int h, int w, Func<int, int, SKColor> pixel)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                bitmap.SetPixel(x, y, pixel(x, y));
        using var data = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }
}
