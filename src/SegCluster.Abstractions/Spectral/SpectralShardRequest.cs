using System.Globalization;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Abstractions.Spectral;

/// <summary>
/// Shard <see cref="Shard"/> of <see cref="Shards"/> of a spectral label analysis: the first <see cref="Images"/> training
/// labels of the spec's dataset, of which the shard takes every index i with i mod Shards = Shard (disjoint shards whose
/// union is the analysed set), in batches of <see cref="BatchSize"/> (bounded memory per shard).
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SpectralShardRequest")]
public sealed record SpectralShardRequest
{
    [Id(0)] public ExperimentSpec Spec { get; init; } = new();
    [Id(1)] public int Images { get; init; }
    [Id(2)] public int Shard { get; init; }
    [Id(3)] public int Shards { get; init; } = 1;
    [Id(4)] public int BatchSize { get; init; } = 8;

    /// <summary>The analysis this shard belongs to: equal for equal data, image count and sharding, so a repeated
    /// analysis finds the shards already recorded.</summary>
    public string AnalysisKey => string.Create(CultureInfo.InvariantCulture,
        $"{StatisticsVersion}|{Spec.Dataset.Identity(Spec.Seed)}|{Images}|{Shards}|{Spec.Dataset.MaxInvalidFraction}");

    /// <summary>Bumped when the statistics a shard records change meaning or layout (v2: the oracles abstain where the grid
    /// has no label, with their unpredicted counts), so a recorded shard of an older version is computed again, not merged.</summary>
    public const string StatisticsVersion = "v2";

    /// <summary>Key of the shard's <c>ISpectralShardGrain</c>: "{analysis}|{shard}".</summary>
    public string GrainKey => string.Create(CultureInfo.InvariantCulture, $"{AnalysisKey}|{Shard}");

    /// <summary>Sample indices of this shard, ascending.</summary>
    public IEnumerable<int> Indices()
    {
        for (var i = Shard; i < Images; i += Shards) yield return i;
    }

    /// <summary>Errors naming the field; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Images < 1) errors.Add($"images = {Images} must be at least 1.");
        if (Shards < 1) errors.Add($"shards = {Shards} must be at least 1.");
        else if (Shards > Math.Max(1, Images)) errors.Add($"shards = {Shards} is more than the {Images} images analysed; lower --shards.");
        if (Shard < 0 || Shard >= Shards) errors.Add($"shard = {Shard} must be in [0, {Shards}).");
        if (BatchSize < 1) errors.Add($"batch size = {BatchSize} must be at least 1.");
        return errors;
    }
}
