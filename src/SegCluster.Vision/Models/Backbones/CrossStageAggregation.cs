using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// Cross-stage feature aggregation (PAPERS.md §1, the scheme SPGNet takes from MSPN): at each encoder
/// level l, stage 2's block output is summed with a 1×1 conv + norm of stage 1's encoder feature and
/// a 1×1 conv + norm of stage 1's decoder feature (after SPG) at the same resolution. Levels finer than
/// stage 1's decoder stop level (label-grid training, PAPERS.md §2) have no decoder feature and take the
/// encoder term only; a spectrally truncated decoder feature is resized to the level's grid.
/// </summary>
public sealed class CrossStageAggregation : nn.Module
{
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> encoder_lateral;
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> decoder_lateral;

    /// <param name="encoderChannels">Channels of the encoder levels (the same in both stages), finest first.</param>
    /// <param name="decoderChannels">Channels of stage 1's decoder features.</param>
    /// <param name="decoderStopLevel">Finest level stage 1's decoder produces.</param>
    public CrossStageAggregation(IReadOnlyList<int> encoderChannels, int decoderChannels, NormKind norm, int decoderStopLevel = 0) : base(nameof(CrossStageAggregation))
    {
        DecoderStopLevel = decoderStopLevel;
        encoder_lateral = nn.ModuleList(encoderChannels.Select(c => Layers.Projection(c, c, norm)).ToArray());
        decoder_lateral = nn.ModuleList(encoderChannels.Skip(decoderStopLevel).Select(c => Layers.Projection(decoderChannels, c, norm)).ToArray());
        RegisterComponents();
    }

    /// <summary>Finest level with a decoder term.</summary>
    public int DecoderStopLevel { get; }

    /// <summary>x + proj_enc(encoder1) + proj_dec(decoder1), all (B, C_l, h_l, w_l); decoder1 is null below <see cref="DecoderStopLevel"/>.</summary>
    public Tensor Aggregate(int level, Tensor x, Tensor encoder1, Tensor? decoder1)
    {
        using var scope = NewDisposeScope();
        var y = Layers.Add(x, encoder_lateral[level].call(encoder1));
        if (decoder1 is not null)
        {
            var lateral = decoder_lateral[level - DecoderStopLevel].call(decoder1);
            if (lateral.shape[2] != x.shape[2] || lateral.shape[3] != x.shape[3])
                lateral = Layers.ResizeLike(lateral, x);  // truncated decoder level (r·h, r·w) → (h, w)
            y = Layers.Add(y, lateral);
        }
        return y.MoveToOuterDisposeScope();
    }
}
