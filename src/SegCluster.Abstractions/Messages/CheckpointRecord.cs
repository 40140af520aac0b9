namespace SegCluster.Abstractions.Messages;

/// <summary>A checkpoint written after <see cref="Step"/> completed optimizer steps, at <see cref="Path"/>
/// (on storage every node reads: a shared filesystem or volume).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.CheckpointRecord")]
public sealed record CheckpointRecord(
    [property: Id(0)] int Step,
    [property: Id(1)] string Path);
