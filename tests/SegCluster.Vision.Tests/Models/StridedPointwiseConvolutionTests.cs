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
