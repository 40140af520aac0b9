using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Abstractions.Grains;

/// <summary>
/// The persisted result of one trial, keyed "{sweepId}#{index}": a sweep writes each trial transition here (one small
/// write) instead of rewriting its whole record, and reads them back when it resumes.
/// </summary>
[Alias("SegCluster.ISweepTrialGrain")]
public interface ISweepTrialGrain : IGrainWithStringKey
{
    [Alias("Save")] Task SaveAsync(TrialResult result);
    /// <summary>The last saved result, or null when none was saved.</summary>
    [Alias("Get")] Task<TrialResult?> GetAsync();

    public static string Key(string sweepId, int index) => $"{sweepId}#{index}";
}
