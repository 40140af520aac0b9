using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Training;

namespace SegCluster.Cli.Sweeps;

/// <summary>What `sweep` and `spectral-sweep` both start from: the sweep document and the embedded cluster's size.</summary>
public static class SweepSpecArguments
{
    /// <summary>
    /// The spec loaded from <paramref name="file"/> and the worker count (<paramref name="workers"/>, or enough for
    /// min(max_concurrent_trials, trials) × workers_per_trial, and on CPU at most one worker a core); null, with the
    /// problem on stderr, when either is unusable.
    /// </summary>
    /// <param name="cores">Cores of this machine (<see cref="Environment.ProcessorCount"/> when null).</param>
    public static (SweepSpec Spec, int Workers)? Load(FileInfo file, int? workers, int? cores = null)
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
        // On CPU a trial's worker wants a core, as Ray Tune's default of one CPU a trial: more trials at once than the
        // cores carry only make each slower, and the sweep queues the rest.
        var byCores = Math.Max(1, (cores ?? Environment.ProcessorCount) / spec.WorkersPerTrial);
        if (workers is null && spec.Base.Device == "cpu" && byCores < concurrent)
        {
            Console.Error.WriteLine($"note: running {byCores} trial(s) at once, not max_concurrent_trials {spec.MaxConcurrentTrials}: this machine has " +
                $"{cores ?? Environment.ProcessorCount} cores and each trial takes {spec.WorkersPerTrial} CPU worker(s); --workers sets the count.");
            concurrent = byCores;
        }
        var size = workers ?? concurrent * spec.WorkersPerTrial;
        if (size < spec.WorkersPerTrial)
        {
            Console.Error.WriteLine($"error: --workers {size} is fewer than workers_per_trial {spec.WorkersPerTrial}; raise --workers.");
            return null;
        }
        return (spec, size);
    }

    /// <summary>
    /// For trials that read their files on this machine (an embedded cluster): the checks `train` runs before its cluster
    /// starts (<see cref="ExperimentPreflight"/>: the dataset folder, the starting checkpoint) on the sweep's base
    /// experiment, so a wrong base.dataset.path is named up front instead of failing every trial. False, with each problem
    /// on stderr naming its base.* field, when any fails. A problem in a field an axis sets is left to the trials: the
    /// base's value of it never trains.
    /// </summary>
    public static async Task<bool> PreflightAsync(SweepSpec spec)
    {
        var errors = (await ExperimentPreflight.CheckAsync(spec.TrialBase, SpecPathPolicy.Unrestricted)).Errors;
        var varied = spec.Axes.Select(a => SpecPaths.Canonical(a.Path) + ":").ToList();
        var problems = errors.Where(e => !varied.Any(field => e.StartsWith(field, StringComparison.Ordinal))).ToList();
        foreach (var problem in problems) Console.Error.WriteLine($"error: base.{problem}");
        return problems.Count == 0;
    }
}
