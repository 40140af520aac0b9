using SegCluster.Abstractions.Specs.Files;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cli.Sweeps;

/// <summary>What `sweep` and `spectral-sweep` both start from: the sweep document and the embedded cluster's size.</summary>
public static class SweepSpecArguments
{
    /// <summary>
    /// The spec loaded from <paramref name="file"/> and the worker count (<paramref name="workers"/>, or enough for
    /// min(max_concurrent_trials, trials) × workers_per_trial); null, with the problem on stderr, when either is unusable.
    /// </summary>
    public static (SweepSpec Spec, int Workers)? Load(FileInfo file, int? workers)
    {
        SweepSpec spec;
        try
        {
            spec = SweepSpecFiles.Load(file.FullName);
        }
        catch (SpecFileException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return null;
        }
        // By default as many workers as trials can run at once, and no more than the sweep has trials (a 2-trial sweep
        // with max_concurrent_trials 8 would otherwise split the cores over 6 idle workers).
        var concurrent = (int)Math.Min(spec.MaxConcurrentTrials, Math.Max(1, SweepValidation.TrialCount(spec)));
        var size = workers ?? concurrent * spec.WorkersPerTrial;
        if (size < spec.WorkersPerTrial)
        {
            Console.Error.WriteLine($"error: --workers {size} is fewer than workers_per_trial {spec.WorkersPerTrial}; raise --workers.");
            return null;
        }
        return (spec, size);
    }
}
