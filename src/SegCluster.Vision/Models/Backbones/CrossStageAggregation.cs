using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// Cross-stage feature aggregation (PAPERS.md §1, the scheme SPGNet takes from MSPN): at each encoder
/// level l, stage 2's block output is summed with a 1×1 conv + norm of stage 1's encoder feature and
/// a 1×1 conv + norm of stage 1's decoder feature (after SPG) at the same resolution.
/// </summary>
public sealed class CrossStageAggregation : nn.Module
{
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> encoder_lateral;
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> decoder_lateral;

    /// <param name="encoderChannels">Channels of the encoder levels (the same in both stages), finest first.</param>
    /// <param name="decoderChannels">Channels of stage 1's decoder features.</param>
    public CrossStageAggregation(IReadOnlyList<int> encoderChannels, int decoderChannels, NormKind norm) : base(nameof(CrossStageAggregation))
    {
        encoder_lateral = nn.ModuleList(encoderChannels.Select(c => Layers.Projection(c, c, norm)).ToArray());
        decoder_lateral = nn.ModuleList(encoderChannels.Select(c => Layers.Projection(decoderChannels, c, norm)).ToArray());
        RegisterComponents();
    }

    /// <summary>x + proj_enc(encoder1) + proj_dec(decoder1), all (B, C_l, h_l, w_l).</summary>
    public Tensor Aggregate(int level, Tensor x, Tensor encoder1, Tensor decoder1)
    {
        using var scope = NewDisposeScope();
        var y = Layers.Add(Layers.Add(x, encoder_lateral[level].call(encoder1)), decoder_lateral[level].call(decoder1));
        return y.MoveToOuterDisposeScope();
    }
}
