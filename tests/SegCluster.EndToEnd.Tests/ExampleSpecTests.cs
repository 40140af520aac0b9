using SegCluster.Abstractions.Specs.Files;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.EndToEnd.Tests;

/// <summary>Every spec under examples/ loads and validates, as the docs tell users to run them (a field renamed or a rule
/// tightened would otherwise leave an example that fails on its first line).</summary>
public sealed class ExampleSpecTests
{
    public static TheoryData<string> Sweeps() => [.. Files("sweeps")];
    public static TheoryData<string> Experiments() => [.. Files("experiments")];

    [Theory]
    [MemberData(nameof(Sweeps))]
    public void Every_example_sweep_loads_and_validates(string file)
    {
        var sweep = SweepSpecFiles.Load(RepoPaths.Of("examples", "sweeps", file));
        Assert.Equal(Path.GetFileNameWithoutExtension(file), sweep.Name);
        Assert.InRange(SweepValidation.TrialCount(sweep), 2, 100);  // examples stay small enough to run on a laptop
    }

    [Theory]
    [MemberData(nameof(Experiments))]
    public void Every_example_experiment_loads_and_validates(string file) =>
        Assert.Empty(SpecFiles.LoadExperiment(RepoPaths.Of("examples", "experiments", file)).Validate());

    /// <summary>The README's Layout block and docs/sweeps.md's list of examples name every example sweep (label-baselines,
    /// spectral-grid and spectral-truncation were missing from one or the other).</summary>
    [Theory]
    [MemberData(nameof(Sweeps))]
    public void Every_example_sweep_is_listed_in_the_readme_and_the_sweeps_page(string file)
    {
        var layout = File.ReadAllLines(RepoPaths.Of("README.md")).Single(l => l.StartsWith("examples/sweeps/", StringComparison.Ordinal));
        Assert.Contains($" {file}", layout);
        Assert.Contains($"`{file}`", File.ReadAllText(RepoPaths.Of("docs", "sweeps.md")).Replace("`examples/sweeps/", "`"));
    }

    private static IEnumerable<string> Files(string folder) =>
        Directory.GetFiles(RepoPaths.Of("examples", folder)).Select(Path.GetFileName).OfType<string>().Order();
}
