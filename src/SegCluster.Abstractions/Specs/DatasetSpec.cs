namespace SegCluster.Abstractions.Specs;

/// <summary>Which data to train and validate on. Only the built-in synthetic scene set for now.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.DatasetSpec")]
public sealed record DatasetSpec
{
    public const string Synthetic = "synthetic";

    [Id(0)] public string Kind { get; init; } = Synthetic;
    [Id(1)] public int NumClasses { get; init; } = 6;
    [Id(2)] public int Height { get; init; } = 64;
    [Id(3)] public int Width { get; init; } = 64;
    [Id(4)] public int TrainCount { get; init; } = 2048;
    [Id(5)] public int ValidationCount { get; init; } = 128;

    /// <summary>Name that identifies the data itself (not the run): equal specs share shard grains.</summary>
    public string Identity(int seed) => $"{Kind}-{NumClasses}c-{Height}x{Width}-seed{seed}";
}
