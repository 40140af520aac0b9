using Microsoft.Extensions.Options;
using SegCluster.Cluster.Nodes;

namespace SegCluster.Node.Hosting;

/// <summary>
/// Why a node refuses to start for a setting: its id is an active node's (<see cref="NodeIdTakenException"/>), or a
/// setting is out of range (<see cref="OptionsValidationException"/>). A setting to change, not a crash: the process
/// exits 2 with the message as one "error: …" line (Program.cs, `segcluster node`), and the logs leave its stack out
/// (<see cref="StartRefusalLoggerFactory"/>).
/// </summary>
public static class StartRefusal
{
    /// <summary>The refusal <paramref name="exception"/> is or carries (as an inner exception, or as every one of an
    /// aggregate's, as the host throws when several services fail); null when it is something else.</summary>
    public static Exception? Find(Exception exception) => exception switch
    {
        NodeIdTakenException or OptionsValidationException => exception,
        AggregateException { InnerExceptions.Count: > 0 } all when all.InnerExceptions.All(e => Find(e) is not null) => Find(all.InnerExceptions[0]),
        AggregateException => null,
        { InnerException: { } inner } => Find(inner),
        _ => null,
    };
}
