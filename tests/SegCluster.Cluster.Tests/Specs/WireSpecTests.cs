using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Training;
using SegCluster.Collectives;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>training.wire: parsed, validated with the valid choices, laid over the node's collective settings at ring
/// formation (where the node's transport is known).</summary>
public sealed class WireSpecTests
{
    [Fact]
    public void A_wire_in_the_spec_file_is_parsed_and_valid()
    {
        var spec = SpecFiles.Parse<ExperimentSpec>("training:\n  wire: fp16\n", SpecFormat.Yaml);
        Assert.Equal("fp16", spec.Training.Wire);
        Assert.Empty(SpecValidation.Validate(spec));
        Assert.Null(new ExperimentSpec().Training.Wire);
    }

    [Fact]
    public void An_unknown_wire_names_the_field_and_the_choices()
    {
        var spec = SpecFiles.Parse<ExperimentSpec>("training:\n  wire: bf16\n", SpecFormat.Yaml);
        Assert.Contains(SpecValidation.Validate(spec), e => e.StartsWith("training.wire: 'bf16' is unknown; use one of fp32, fp16", StringComparison.Ordinal));
    }

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
