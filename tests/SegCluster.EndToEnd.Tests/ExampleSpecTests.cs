using SegCluster.Abstractions.Specs.Files;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cli.Sweeps;
using SegCluster.Cluster.Sweeps.Search;

namespace SegCluster.EndToEnd.Tests;

/// <summary>Every spec under examples/ loads and validates, as the docs tell users to run them (a field renamed or a rule
/// tightened would otherwise leave an example that fails on its first line), and every example sweep trains the
/// combinations it says it does.</summary>
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

    /// <summary>The combinations an example's planner skips as invalid, each named in the example's own comment: none but
    /// scribble-loss.yaml's scribble mode with the regularised loss. A rule tightened, or an axis value changed, would
    /// otherwise leave an example that trains fewer arms than it says, found only by running it.</summary>
    private static readonly Dictionary<string, (string Trial, string Comment)[]> DocumentedSkips = new()
    {
        ["scribble-loss.yaml"] = [("labels.mode=scribble, loss.kind=scribble-regularized", "scribble + scribble-regularized  not trained")],
    };

    [Theory]
    [MemberData(nameof(Sweeps))]
    public void Every_example_sweep_trains_every_combination_but_the_ones_its_comment_names(string file)
    {
        var path = RepoPaths.Of("examples", "sweeps", file);
        var (trials, _) = TrialPlanner.Expand(SweepSpecFiles.Load(path));

        var skipped = trials.Where(t => t.State == TrialState.Skipped).ToList();
        var documented = DocumentedSkips.GetValueOrDefault(file, []);
        Assert.True(documented.Select(d => d.Trial).SequenceEqual(skipped.Select(SweepTable.Parameters)),
            $"{file} skips: {string.Join("; ", skipped.Select(t => $"{SweepTable.Parameters(t)}: {t.Reason}"))}");
        var text = File.ReadAllText(path);
        Assert.All(documented, d => Assert.Contains(d.Comment, text));
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
