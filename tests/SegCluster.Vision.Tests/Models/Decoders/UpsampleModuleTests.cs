using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Decoders;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models.Decoders;

/// <summary>
/// SPGNet's upsample module (PAPERS.md §1): bilinear ×2 of the coarser decoder feature + the encoder skip through a 1×1
/// conv + norm, then a residual block relu(z + BN(conv3×3(relu(BN(conv3×3(z)))))). Written out with the module's own
/// weights, BatchNorm in eval mode with non-trivial running statistics, and the bilinear ×2 as a hand matrix.
/// </summary>
public sealed class UpsampleModuleTests
{
    [Fact]
    public void Is_bilinear_upsampling_plus_the_projected_skip_through_a_residual_block()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        using var module = new UpsampleModule(skipChannels: 3, channels: 2, NormKind.BatchNorm);
        var p = module.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        var b = module.named_buffers().ToDictionary(x => x.name, x => x.buffer);
        string[] norms = ["skip.norm", "block.norm1", "block.norm2"];
        using (no_grad())
        {
            foreach (var norm in norms)
            {
                b[$"{norm}.running_mean"].copy_(randn(2));
                b[$"{norm}.running_var"].copy_(rand(2) + 0.5);
                p[$"{norm}.weight"].copy_(randn(2));
                p[$"{norm}.bias"].copy_(randn(2));
            }
        }
        module.eval();
        using var noGrad = no_grad();
        var x = randn(1, 2, 2, 2);       // coarser decoder feature (B, D, h, w)
        var skip = randn(1, 3, 4, 4);    // encoder feature at 2h × 2w

        var actual = module.call(x, skip);

        // Bilinear ×2, align_corners false: output i samples input (i + ½)/2 − ½ = −¼, ¼, ¾, 1¼, clamped to [0, 1].
        var u = tensor(new float[] { 1, 0, 0.75f, 0.25f, 0.25f, 0.75f, 0, 1 }).reshape(4, 2);
        var up = einsum("hi,bcij,wj->bchw", u, x, u);                                                           // (1, 2, 4, 4)
        Tensor Norm(Tensor t, string name) => nn.functional.batch_norm(t, b[$"{name}.running_mean"], b[$"{name}.running_var"],
            p[$"{name}.weight"], p[$"{name}.bias"], training: false, eps: 1e-5);
        var z = up + Norm(nn.functional.conv2d(skip, p["skip.conv.weight"]), "skip.norm");                      // (1, 2, 4, 4)
        var y = nn.functional.relu(Norm(nn.functional.conv2d(z, p["block.conv1.weight"], padding: [1, 1]), "block.norm1"));
        y = Norm(nn.functional.conv2d(y, p["block.conv2.weight"], padding: [1, 1]), "block.norm2");
        var expected = nn.functional.relu(z + y);

        Assert.Equal(new long[] { 1, 2, 4, 4 }, actual.shape);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max |Δ| = {(actual - expected).abs().max().item<float>()}");
    }
}
