using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>`segcluster spectral` end to end: report.json with per-factor figures, the PNG plots, the table.</summary>
public sealed class SpectralTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    /// <summary>The table's CE gaps: a tiny negative gap (f = 1, summation order) printed "-+0.0000".</summary>
    [Theory]
    [InlineData(-1e-9, "0.0000")]
    [InlineData(0.0, "0.0000")]
    [InlineData(0.01284, "+0.0128")]
    [InlineData(-0.02, "-0.0200")]
    public void A_gap_is_printed_with_one_sign(double gap, string printed) =>
        Assert.Equal(printed, SegCluster.Cli.Spectral.SpectralRunner.Signed(gap));

    [Fact]
    public async Task Spectral_writes_a_report_plots_and_a_table()
    {
        using var output = new TempDirectory("segcluster-spectral-");
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "spectral", "--dataset", "synthetic", "--out", output.FullName, "--images", "8", "--size", "32x48");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("label grid", stdout);
        Assert.Contains("wrote report.json", stdout);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output.FullName, "report.json")));
        var factors = report.RootElement.GetProperty("Factors").EnumerateArray().Select(f => f.GetProperty("Factor").GetInt32()).ToArray();
        Assert.Equal([1, 2, 4, 8, 16], factors);
        Assert.Contains(report.RootElement.GetProperty("RecommendedFactor").GetInt32(), factors);
        Assert.Equal(1.0, report.RootElement.GetProperty("DatasetCumulativeEnergy").EnumerateArray().Last().GetDouble(), 6);  // §2: the dataset's curve
        foreach (var png in new[] { "energy.png", "factors.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(output.FullName, png));
            Assert.True(bytes.Length > 1000 && bytes[1] == (byte)'P' && bytes[2] == (byte)'N' && bytes[3] == (byte)'G', png);
        }
    }

    [Fact]
    public async Task Three_shards_give_the_figures_of_one_and_each_shard_is_listed_once()
    {
        using var output = new TempDirectory("segcluster-spectral-");
        JsonElement Run(int shards, out string stdout)
        {
            var folder = Path.Combine(output.FullName, $"s{shards}");
            var (exit, o, e) = CliProcess.RunAsync(Limit, "spectral", "--out", folder, "--images", "12", "--size", "32", "--shards", $"{shards}").GetAwaiter().GetResult();
            Assert.True(exit == 0, o + e);
            stdout = o;
            return JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "report.json"))).RootElement;
        }
        var one = Run(1, out _);
        var three = Run(3, out var stdout);
        Assert.Contains("3 shard(s)", stdout);
        Assert.Equal([0, 1, 2], three.GetProperty("Shards").EnumerateArray().Select(s => s.GetProperty("Shard").GetInt32()));
        Assert.Equal(12, three.GetProperty("Shards").EnumerateArray().Sum(s => s.GetProperty("Images").GetInt32()));
        Assert.Equal(one.GetProperty("RecommendedFactor").GetInt32(), three.GetProperty("RecommendedFactor").GetInt32());
        // Oracle mIoU comes from confusion counts, which merge exactly.
        foreach (var field in new[] { "OracleMIoUNearest", "OracleMIoUSoft" })
            Assert.Equal(one.GetProperty("Factors").EnumerateArray().Select(f => f.GetProperty(field).GetDouble()),
                three.GetProperty("Factors").EnumerateArray().Select(f => f.GetProperty(field).GetDouble()));
    }

    /// <summary>PAPERS.md §2: the coarsest factor within the user's targets. No target at all recommends the coarsest grid,
    /// targets nothing coarse can meet recommend full resolution; the report records the targets.</summary>
    [Fact]
    public async Task The_advisor_targets_are_the_users_to_set()
    {
        using var output = new TempDirectory("segcluster-spectral-");
        JsonElement Run(string name, params string[] targets)
        {
            var folder = Path.Combine(output.FullName, name);
            var (exit, o, e) = CliProcess.RunAsync(Limit, ["spectral", "--out", folder, "--images", "8", "--size", "32", .. targets]).GetAwaiter().GetResult();
            Assert.True(exit == 0, o + e);
            return JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "report.json"))).RootElement;
        }
        var loose = Run("loose", "--min-energy", "0", "--max-oracle-drop", "1");
        Assert.Equal(loose.GetProperty("Factors").EnumerateArray().Max(f => f.GetProperty("Factor").GetInt32()), loose.GetProperty("RecommendedFactor").GetInt32());
        Assert.Equal(0, loose.GetProperty("MinEnergy").GetDouble());
        var strict = Run("strict", "--min-energy", "1", "--max-oracle-drop", "0");
        Assert.Equal(1, strict.GetProperty("RecommendedFactor").GetInt32());
        Assert.Equal(0.0, strict.GetProperty("MaxOracleMIoUDrop").GetDouble());

        var (refused, stdout, stderr) = await CliProcess.RunAsync(Limit, "spectral", "--min-energy", "1.5");
        Assert.NotEqual(0, refused);
        Assert.Contains("--min-energy must be in [0, 1]", stdout + stderr);
    }

    /// <summary>Named by the option, before the cluster starts: they were SyntheticSceneOptions' field and parameter names,
    /// after the analysis had started.</summary>
    [Theory]
    [InlineData("--size 33", "--size '33': each side must be a multiple of 16 from 16 to 8192 (nearest: 32x32).")]
    [InlineData("--size 0x64", "--size '0x64': each side must be a multiple of 16")]
    [InlineData("--classes 0", "--classes 0 is out of range; the synthetic dataset has 2 to 32 classes")]
    [InlineData("--classes 33", "--classes 33 is out of range")]
    public async Task Spectral_names_a_bad_size_or_class_count_by_its_option(string arguments, string expected)
    {
        using var output = new TempDirectory("segcluster-spectral-bad-");
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, ["spectral", "--out", output.FullName, .. arguments.Split(' ')]);
        Assert.NotEqual(0, exit);
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("spectral:", stdout);  // nothing started
        Assert.DoesNotContain("SyntheticSceneOptions", stdout + stderr);
        Assert.DoesNotContain("(Parameter", stdout + stderr);
    }

    /// <summary>A files dataset's identity ("auto:train:32x32:PATH") is printed as it is: Spectre's markup made ':train:' an
    /// emoji (auto🚆32x32). Here a folder that is no dataset: the line comes before the analysis names it.</summary>
    [Fact]
    public async Task A_files_dataset_is_named_without_emoji()
    {
        using var dir = new TempDirectory("segcluster-spectral-files-");
        var folder = Directory.CreateDirectory(Path.Combine(dir.FullName, "data")).FullName;
        var (_, stdout, _) = await CliProcess.RunAsync(Limit, "spectral", "--dataset", folder, "--size", "32", "--images", "2", "--out", Path.Combine(dir.FullName, "out"));
        Assert.Contains($"training labels of auto:train:32x32:{folder} at 32x32", stdout);
    }

    [Fact]
    public async Task Spectral_rejects_an_unknown_dataset()
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "spectral", "--dataset", "cityscapes");
        Assert.NotEqual(0, exit);
        Assert.Contains("valid: synthetic", stdout + stderr);
    }
}
