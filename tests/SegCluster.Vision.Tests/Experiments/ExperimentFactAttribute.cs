namespace SegCluster.Vision.Tests.Experiments;

/// <summary>A fact that runs only when SEGCLUSTER_EXPERIMENTS=1: minutes-long training comparisons
/// whose numbers go into the docs (docs/models.md, docs/label-grids.md), kept out of the default test run.</summary>
public sealed class ExperimentFactAttribute : FactAttribute
{
    public ExperimentFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("SEGCLUSTER_EXPERIMENTS") != "1")
            Skip = "experiment: set SEGCLUSTER_EXPERIMENTS=1 to run";
    }
}
