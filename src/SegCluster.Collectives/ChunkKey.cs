namespace SegCluster.Collectives;

/// <summary>Address of one chunk inside a <see cref="CollectiveMailbox"/>.</summary>
/// <param name="GroupId">Ring the chunk belongs to.</param>
/// <param name="Rank">Destination rank (a rank hosted by this process).</param>
/// <param name="Sequence">Operation number within the group (n-th SumAsync call).</param>
/// <param name="Step">Ring step within the operation.</param>
/// <param name="Chunk">Chunk index within the segment sent at that step.</param>
public readonly record struct ChunkKey(string GroupId, int Rank, long Sequence, int Step, int Chunk);
