namespace SegCluster.Abstractions.Grains;

/// <summary>
/// A shard of a dataset, keyed by <c>DatasetSpec.ShardKey</c>. Knows its samples and deals each epoch's
/// deterministic shuffle out to the ranks of an experiment: disjoint parts whose union is the shard.
/// </summary>
[Alias("SegCluster.IDatasetShardGrain")]
public interface IDatasetShardGrain : IGrainWithStringKey
{
    /// <summary>Sample indices rank <paramref name="rank"/> of <paramref name="worldSize"/> visits in
    /// <paramref name="epoch"/>, in order. Every rank gets the same count (the shuffled tail that does not
    /// divide evenly is dropped, as DistributedSampler(drop_last=True) does).</summary>
    [Alias("GetEpochSamples")] Task<int[]> GetEpochSamplesAsync(int epoch, int rank, int worldSize);
    [Alias("GetCount")] Task<int> GetSampleCountAsync();
}
