using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Decoders;

/// <summary>
/// Light decoder of one stage (PAPERS.md §1): a 1×1 projection of the coarsest encoder feature to D
/// channels, then one <see cref="UpsampleModule"/> per finer level. Returns the decoder feature at
/// every encoder resolution, finest first, so a later stage can aggregate them level by level.
/// </summary>
public sealed class LightDecoder : nn.Module<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>>
{
    private readonly nn.Module<Tensor, Tensor> top;
    private readonly TorchSharp.Modules.ModuleList<UpsampleModule> up;

    /// <param name="encoderChannels">Channels of the encoder features, finest first.</param>
    /// <param name="channels">D, the decoder width.</param>
    public LightDecoder(IReadOnlyList<int> encoderChannels, int channels, NormKind norm) : base(nameof(LightDecoder))
    {
        Channels = channels;
        int levels = encoderChannels.Count;
        top = nn.Sequential(("proj", Layers.Projection(encoderChannels[levels - 1], channels, norm)), ("relu", nn.ReLU()));
        // up[0] upsamples to level L-2, ..., up[L-2] to level 0 (call order).
        up = nn.ModuleList(Enumerable.Range(0, levels - 1).Select(i => new UpsampleModule(encoderChannels[levels - 2 - i], channels, norm)).ToArray());
        RegisterComponents();
    }

    /// <summary>D.</summary>
    public int Channels { get; }

    /// <param name="features">Encoder features, finest first: (B, C_l, H/s_l, W/s_l).</param>
    /// <returns>Decoder features, finest first: (B, D, H/s_l, W/s_l).</returns>
    public override IReadOnlyList<Tensor> forward(IReadOnlyList<Tensor> features)
    {
        using var scope = NewDisposeScope();
        int levels = features.Count;
        var outputs = new Tensor[levels];
        var x = top.call(features[levels - 1]);  // (B, D, H/16, W/16)
        outputs[levels - 1] = x;
        for (int i = 0; i < up.Count; i++)
        {
            int level = levels - 2 - i;
            x = up[i].call(x, features[level]);
            outputs[level] = x;
        }
        foreach (var o in outputs) o.MoveToOuterDisposeScope();
        return outputs;
    }
}
