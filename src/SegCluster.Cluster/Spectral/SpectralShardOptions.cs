namespace SegCluster.Cluster.Spectral;

/// <summary>Settings of spectral shard grains ("SpectralShards" configuration section).</summary>
public sealed class SpectralShardOptions
{
    public const string Section = "SpectralShards";

    /// <summary>
    /// How long one call waits for a shard's computation before answering "still computing" (the caller asks again).
    /// Below the 30 s grain-call timeout: a large shard takes minutes, and one call waiting that long timed out, was
    /// retried behind the running computation, and the analysis failed after its attempts although the work went on.
    /// </summary>
    public TimeSpan AnswerWithin { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The longest <see cref="AnswerWithin"/> that leaves a call margin under Orleans' 30 s response timeout.</summary>
    public static readonly TimeSpan MaxAnswerWithin = TimeSpan.FromSeconds(25);
}
