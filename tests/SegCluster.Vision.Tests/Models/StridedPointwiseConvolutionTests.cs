using SegCluster.Vision.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models;

/// <summary><see cref="Layers.Conv1x1"/> takes its stride by subsampling the input (libtorch's CPU oneDNN crashes on some strided 1×1 backward passes).</summary>
public class StridedPointwiseConvolutionTests
{
    /// <remarks>Tolerance 1e-5: the stride-2 reference and the subsampled stride-1 convolution may run different kernels
    /// (other summation orders over the 8 input channels).</remarks>
    [Theory]
    [InlineData(8, 8)]
    [InlineData(7, 9)]  // odd sizes: both give ceil(H/2) × ceil(W/2)
    public void SubsamplingEqualsAStridedConvolutionForwardAndBackward(int height, int width)
    {
        random.manual_seed(3);
        var layer = (Conv2d)Layers.Conv1x1(8, 16, NormKind.None, stride: 2);
        var x = randn(2, 8, height, width, requires_grad: true);
        var reference = x.detach().requires_grad_(true);
        var weight = layer.weight!.detach().requires_grad_(true);
        var bias = layer.bias!.detach().requires_grad_(true);

        var y = layer.call(x);
        var expected = nn.functional.conv2d(reference, weight, bias, strides: [2, 2]);
        Assert.Equal(expected.shape, y.shape);
        Assert.True(y.allclose(expected, rtol: 1e-5, atol: 1e-6), "forward differs");

        var upstream = randn(expected.shape);
        (y * upstream).sum().backward();
        (expected * upstream).sum().backward();
        Assert.True(x.grad!.allclose(reference.grad!, rtol: 1e-5, atol: 1e-6), "input gradient differs");
        Assert.True(layer.weight.grad!.allclose(weight.grad!, rtol: 1e-5, atol: 1e-6), "weight gradient differs");
        Assert.True(layer.bias.grad!.allclose(bias.grad!, rtol: 1e-5, atol: 1e-6), "bias gradient differs");
    }

    /// <summary>The CPU path (subsample, stride 1) and the one other devices take (stride s in the convolution) give the same
    /// output and gradients with the same weights; run here on a shape whose strided CPU backward does not crash.</summary>
    [Theory]
    [InlineData(8, 8)]
    [InlineData(7, 9)]
    public void TheCpuPathAndTheStridedPathAgree(int height, int width)
    {
        random.manual_seed(5);
        using var scope = NewDisposeScope();
        var layer = (Conv2d)Layers.Conv1x1(8, 16, NormKind.None, stride: 2);
        var upstream = randn(2, 16, (height + 1) / 2, (width + 1) / 2);
        var input = randn(2, 8, height, width);
        (Tensor Output, Tensor InputGrad, Tensor WeightGrad, Tensor BiasGrad) Run(bool subsample)
        {
            layer.zero_grad();
            var x = input.clone().requires_grad_(true);
            var y = layer.forward(Layers.StridedPointwiseInput(layer, x, 2, subsample));  // forward: the hook is bypassed
            (y * upstream).sum().backward();
            return (y.detach(), x.grad!, layer.weight!.grad!.clone(), layer.bias!.grad!.clone());
        }

        var cpu = Run(subsample: true);
        var strided = Run(subsample: false);

        Assert.Equal([2L, 2L], layer.stride);
        Assert.True(strided.Output.allclose(cpu.Output, rtol: 1e-5, atol: 1e-6), "forward differs");
        Assert.True(strided.InputGrad.allclose(cpu.InputGrad, rtol: 1e-5, atol: 1e-6), "input gradient differs");
        Assert.True(strided.WeightGrad.allclose(cpu.WeightGrad, rtol: 1e-5, atol: 1e-6), "weight gradient differs");
        Assert.True(strided.BiasGrad.allclose(cpu.BiasGrad, rtol: 1e-5, atol: 1e-6), "bias gradient differs");
    }

    /// <summary>Parameter names (checkpoint keys) are a plain Conv2d's, whatever the stride.</summary>
    [Fact]
    public void StateKeysAreAConv2dsWhateverTheStride()
    {
        using var strided = Layers.Conv1x1(8, 16, NormKind.BatchNorm, stride: 2);
        using var plain = Layers.Conv1x1(8, 16, NormKind.BatchNorm);
        Assert.Equal(["weight"], strided.state_dict().Keys);
        Assert.Equal(plain.state_dict().Keys, strided.state_dict().Keys);
    }

    /// <summary>ResNet-50's layer3 downsample shape: a stride-2 nn.Conv2d here dies with SIGFPE in backward (the whole test host).</summary>
    [Fact]
    public void ResNet50sStridedProjectionTrainsOnCpu()
    {
        random.manual_seed(4);
        using var scope = NewDisposeScope();
        var layer = Layers.Conv1x1(512, 1024, NormKind.BatchNorm, stride: 2);
        var x = randn(2, 512, 8, 8, requires_grad: true);

        var y = layer.call(x);
        y.sum().backward();

        Assert.Equal([2L, 1024, 4, 4], y.shape);
        Assert.True(x.grad!.abs().sum().item<float>() > 0);
    }
}
