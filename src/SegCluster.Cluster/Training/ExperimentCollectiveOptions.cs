using SegCluster.Abstractions.Specs;
using SegCluster.Collectives;

namespace SegCluster.Cluster.Training;

/// <summary>
/// The collective settings one experiment's ring runs with: the node's <see cref="CollectiveOptions"/> with the spec's
/// per-experiment choices on top (training.wire). Every rank of an experiment gets the same spec, so the ranks agree
/// on the wire and the data-plane handshake stays consistent without reconfiguring nodes.
/// </summary>
public static class ExperimentCollectiveOptions
{
    /// <summary>
    /// A copy of <paramref name="node"/> with the spec's wire format. Called at ring formation, because the transport
    /// is a node setting the spec cannot see: fp16 on a gRPC-transport node throws <see cref="ArgumentException"/>
    /// naming both settings, and the rank reports it as the run's failure.
    /// </summary>
    public static CollectiveOptions For(TrainingSpec training, CollectiveOptions node)
    {
        var options = node.Clone();
        if (training.Wire is null) return options;
        options.Wire = Parse(training.Wire);
        if (options.Wire == WireFormat.Fp16 && options.Transport != RingTransport.Tcp)
            throw new ArgumentException(
                $"training.wire: fp16 needs the TCP data plane, but this node runs {CollectiveOptions.SectionName}:Transport = {options.Transport}. " +
                $"Leave training.wire out (or set it to fp32), or set {CollectiveOptions.SectionName}:Transport to Tcp on every node.");
        return options;
    }

    /// <summary>The spec name of a wire format, as printed at start ("fp32", "fp16").</summary>
    public static string Name(WireFormat wire) => wire == WireFormat.Fp16 ? "fp16" : "fp32";

    private static WireFormat Parse(string wire) => wire switch
    {
        "fp32" => WireFormat.Fp32,
        "fp16" => WireFormat.Fp16,
        _ => throw new ArgumentException($"training.wire: '{wire}' is unknown; use one of {string.Join(", ", TrainingSpec.Wires)}."),
    };
}
