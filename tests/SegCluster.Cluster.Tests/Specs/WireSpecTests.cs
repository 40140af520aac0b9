using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Collectives;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>training.wire: laid over the node's collective settings at ring formation (where the node's transport is
/// known).</summary>
public sealed class WireSpecTests
{
    [Fact]
    public void Left_out_the_node_setting_holds_and_set_it_wins()
    {
        var node = new CollectiveOptions { Wire = WireFormat.Fp16, ChunkBytes = 4096 };
        Assert.Equal(WireFormat.Fp16, ExperimentCollectiveOptions.For(new TrainingSpec(), node).Wire);
        var fp32 = ExperimentCollectiveOptions.For(new TrainingSpec { Wire = "fp32" }, node);
        Assert.Equal(WireFormat.Fp32, fp32.Wire);
        Assert.Equal(4096, fp32.ChunkBytes);
        Assert.Equal(WireFormat.Fp16, node.Wire);  // the node's shared instance is not changed
        Assert.Equal(WireFormat.Fp16, ExperimentCollectiveOptions.For(new TrainingSpec { Wire = "fp16" }, new CollectiveOptions()).Wire);
    }

    [Fact]
    public void Fp16_on_a_grpc_transport_node_fails_at_ring_formation_naming_both_settings()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            ExperimentCollectiveOptions.For(new TrainingSpec { Wire = "fp16" }, new CollectiveOptions { Transport = RingTransport.Grpc }));
        Assert.StartsWith("training.wire: fp16 needs the TCP data plane", error.Message, StringComparison.Ordinal);
        Assert.Contains("Collectives:Transport = Grpc", error.Message, StringComparison.Ordinal);
        Assert.Equal(WireFormat.Fp32, ExperimentCollectiveOptions.For(new TrainingSpec { Wire = "fp32" }, new CollectiveOptions { Transport = RingTransport.Grpc }).Wire);
    }
}
