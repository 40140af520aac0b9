using System.Globalization;

namespace SegCluster.Abstractions.Grains;

/// <summary>
/// Key of a <see cref="IDatasetShardGrain"/>: the dataset's identity, its sample count, the shuffle seed
/// and the shard number. Formatted as "{dataset}|{count}|{seed}|{shard}" so the grain can rebuild it.
/// </summary>
public sealed record DatasetShardKey(string Dataset, int SampleCount, int Seed, int Shard)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Dataset}|{SampleCount}|{Seed}|{Shard}");

    public static DatasetShardKey Parse(string key)
    {
        var parts = key.Split('|');
        if (parts.Length != 4
            || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var count) || count < 1
            || !int.TryParse(parts[2], CultureInfo.InvariantCulture, out var seed)
            || !int.TryParse(parts[3], CultureInfo.InvariantCulture, out var shard) || shard < 0)
            throw new ArgumentException($"Dataset shard key '{key}' is not of the form 'dataset|count|seed|shard'.", nameof(key));
        return new DatasetShardKey(parts[0], count, seed, shard);
    }
}
