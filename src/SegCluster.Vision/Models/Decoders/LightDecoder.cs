using SegCluster.Vision.Spectral;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Decoders;

/// <summary>
/// Light decoder of one stage (PAPERS.md §1): a 1×1 projection of the coarsest encoder feature to D
/// channels, then one <see cref="UpsampleModule"/> per finer level down to <see cref="StopLevel"/>.
/// Returns the decoder feature at every computed encoder resolution, finest first, so a later stage can
/// aggregate them level by level. Two ways to stop short of the finest level (PAPERS.md §2): a stop level
/// (nothing finer than the label grid is built) and spectral truncation of the finest computed level
/// (its encoder feature is cut to r times its grid per side, so that level's block runs on the smaller grid).
/// </summary>
public sealed class LightDecoder : nn.Module<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>>
{
    private readonly nn.Module<Tensor, Tensor> top;
    private readonly TorchSharp.Modules.ModuleList<UpsampleModule> up;
    private readonly SpectralFeatureTruncation truncation;

    /// <param name="encoderChannels">Channels of the encoder features, finest first.</param>
    /// <param name="channels">D, the decoder width.</param>
    /// <param name="stopLevel">Finest encoder level decoded (0 = all).</param>
    /// <param name="truncationRatio">Spectral truncation ratio r of the finest decoded level's input (1 = off).</param>
    public LightDecoder(IReadOnlyList<int> encoderChannels, int channels, NormKind norm, int stopLevel = 0, double truncationRatio = 1.0)
        : base(nameof(LightDecoder))
    {
        int levels = encoderChannels.Count;
        ArgumentOutOfRangeException.ThrowIfNegative(stopLevel);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stopLevel, levels);
        Channels = channels;
        StopLevel = stopLevel;
        top = nn.Sequential(("proj", Layers.Projection(encoderChannels[levels - 1], channels, norm)), ("relu", nn.ReLU()));
        // up[0] upsamples to level L-2, ..., up[L-2-stop] to the stop level (call order).
        up = nn.ModuleList(Enumerable.Range(0, levels - 1 - stopLevel).Select(i => new UpsampleModule(encoderChannels[levels - 2 - i], channels, norm)).ToArray());
        truncation = new SpectralFeatureTruncation(truncationRatio);
        RegisterComponents();
    }

    /// <summary>D.</summary>
    public int Channels { get; }

    /// <summary>The finest encoder level decoded; the output list starts there.</summary>
    public int StopLevel { get; }

    /// <param name="features">Encoder features, finest first: (B, C_l, H/s_l, W/s_l).</param>
    /// <returns>Decoder features of levels StopLevel..L−1, finest first: (B, D, H/s_l, W/s_l); the first
    /// one on the r-times smaller grid when truncation is on.</returns>
    public override IReadOnlyList<Tensor> forward(IReadOnlyList<Tensor> features)
    {
        using var scope = NewDisposeScope();
        int levels = features.Count;
        var outputs = new Tensor[levels - StopLevel];
        var coarsest = levels - 1 == StopLevel ? truncation.call(features[levels - 1]) : features[levels - 1];
        var x = top.call(coarsest);  // (B, D, H/s_L, W/s_L)
        outputs[^1] = x;
        for (int i = 0; i < up.Count; i++)
        {
            int level = levels - 2 - i;
            var skip = level == StopLevel ? truncation.call(features[level]) : features[level];  // (B, C_l, r·H/s_l, r·W/s_l) at the stop level
            x = up[i].call(x, skip);
            outputs[level - StopLevel] = x;
        }
        foreach (var o in outputs) o.MoveToOuterDisposeScope();
        return outputs;
    }
}
