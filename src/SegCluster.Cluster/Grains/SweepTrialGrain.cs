using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Grains;

/// <summary>One trial's persisted result (see <see cref="ISweepTrialGrain"/>); stored with the sweeps.</summary>
public sealed class SweepTrialGrain(
    [PersistentState("trial", ClusterStorage.Sweeps)] IPersistentState<SweepTrialRecord> record,
    ILogger<SweepTrialGrain> logger) : Grain, ISweepTrialGrain
{
    public async Task SaveAsync(TrialResult result)
    {
        record.State = new SweepTrialRecord { Result = result };
        await record.WriteRetryingAsync(this, logger, $"Sweep trial {this.GetPrimaryKeyString()}");
    }

    public Task<TrialResult?> GetAsync() => Task.FromResult(record.State.Result);
}
