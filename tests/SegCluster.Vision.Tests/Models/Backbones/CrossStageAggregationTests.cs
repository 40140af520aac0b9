using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Backbones;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models.Backbones;

/// <summary>
/// Cross-stage aggregation (PAPERS.md §1, MSPN's scheme) on one pixel with set weights and BatchNorm in eval mode
/// (y = γ (x − μ) / √(σ² + ε) + β, ε = 1e-5): stage 2's block output x plus 1×1 conv + BN of stage 1's encoder feature
/// plus 1×1 conv + BN of stage 1's decoder feature; below the decoder's stop level the encoder term only.
/// </summary>
public sealed class CrossStageAggregationTests
{
    [Fact]
    public void Sums_the_block_output_with_projections_of_the_stage_one_encoder_and_decoder_features()
    {
        using var scope = NewDisposeScope();
        // Levels of 1 channel each, decoder width 2, decoder stop level 1: level 0 has no decoder term.
        using var aggregation = new CrossStageAggregation(encoderChannels: [1, 1], decoderChannels: 2, NormKind.BatchNorm, decoderStopLevel: 1);
        Set(aggregation, "encoder_lateral.0", weight: [2], mean: 0, variance: 1, gamma: 1, beta: 0);
        Set(aggregation, "encoder_lateral.1", weight: [3], mean: 1, variance: 4, gamma: 0.5, beta: 0.25);
        Set(aggregation, "decoder_lateral.0", weight: [2, 1], mean: -1, variance: 1, gamma: 2, beta: -1);
        aggregation.eval();
        using var noGrad = no_grad();

        // Level 1: x = 0.5; encoder 2 → conv 3·2 = 6 → BN 0.5·(6 − 1)/2 + 0.25 = 1.5;
        // decoder (1, −2) → conv 2·1 + 1·(−2) = 0 → BN 2·(0 + 1)/1 − 1 = 1; sum 0.5 + 1.5 + 1 = 3.
        var level1 = aggregation.Aggregate(1, Pixel(0.5f), Pixel(2f), Pixel(1f, -2f));
        Assert.Equal(3.0, level1.item<float>(), 4);

        // Level 0 (finer than the stop level): x = 1, encoder −1 → conv 2·(−1) = −2 → BN −2; sum −1.
        var level0 = aggregation.Aggregate(0, Pixel(1f), Pixel(-1f), null);
        Assert.Equal(-1.0, level0.item<float>(), 4);
    }

    /// <summary>(1, C, 1, 1) holding <paramref name="values"/>.</summary>
    private static Tensor Pixel(params float[] values) => tensor(values).reshape(1, values.Length, 1, 1);

    /// <summary>Sets the 1×1 conv weight and the BatchNorm's running statistics and affine parameters of a projection.</summary>
    private static void Set(nn.Module module, string prefix, float[] weight, float mean, float variance, double gamma, double beta)
    {
        using var noGrad = no_grad();
        var parameters = module.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var buffers = module.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        parameters[$"{prefix}.conv.weight"].copy_(tensor(weight).reshape(1, weight.Length, 1, 1));
        parameters[$"{prefix}.norm.weight"].fill_(gamma);
        parameters[$"{prefix}.norm.bias"].fill_(beta);
        buffers[$"{prefix}.norm.running_mean"].fill_(mean);
        buffers[$"{prefix}.norm.running_var"].fill_(variance);
    }
}
