using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Decoders;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models.Decoders;

/// <summary>
/// The light decoder (PAPERS.md §1): relu(1×1 projection) of the coarsest encoder feature, then one upsample module per finer
/// level, the first one for the next-coarser level, returned finest first so that output l sits at encoder level stop + l
/// (the order SPGNet's cross-stage aggregation reads them in).
/// </summary>
public sealed class LightDecoderTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Decodes_coarse_to_fine_and_returns_the_levels_finest_first(int stopLevel)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        using var decoder = new LightDecoder(encoderChannels: [2, 3, 4], channels: 2, NormKind.GroupNorm, stopLevel);
        using var noGrad = no_grad();
        Tensor[] features = [randn(1, 2, 8, 8), randn(1, 3, 4, 4), randn(1, 4, 2, 2)];
        var top = (nn.Module<Tensor, Tensor>)decoder.named_children().Single(c => c.name == "top").module;
        var up = decoder.named_modules().Where(m => m.module is UpsampleModule).Select(m => (UpsampleModule)m.module).ToList();
        Assert.Equal(2 - stopLevel, up.Count);

        var actual = decoder.call(features);

        var level2 = top.call(features[2]);                      // (1, 2, 2, 2)
        Assert.True(level2.ge(0).all().item<bool>());            // relu after the projection
        var level1 = up[0].call(level2, features[1]);            // (1, 2, 4, 4)
        Tensor[] expected = stopLevel == 0 ? [up[1].call(level1, features[0]), level1, level2] : [level1, level2];
        Assert.Equal(expected.Length, actual.Count);
        for (int l = 0; l < expected.Length; l++)
        {
            Assert.Equal(expected[l].shape, actual[l].shape);
            Assert.True(actual[l].allclose(expected[l], rtol: 1e-5, atol: 1e-6), $"output {l} (encoder level {stopLevel + l})");
        }
    }
}
