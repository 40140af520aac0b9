using SegCluster.Vision.Training.Precision;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training.Precision;

public sealed class ChannelsLastConvolutionCheckTests(ITestOutputHelper output)
{
    /// <summary>
    /// The verdict matches what the convolution really does on a fresh input of another size: on the build machine
    /// 12 and 38 input channels are wrong in channels_last (AVX2 oneDNN), 6 and 16 right; elsewhere all may be right.
    /// Tolerance 1e-4 relative to the largest output: kernels differ by summation order (~1e-6); the bug is off by ~0.5.
    /// </summary>
    [Theory]
    [InlineData(6)]
    [InlineData(12)]
    [InlineData(16)]
    [InlineData(38)]
    public void TheVerdictMatchesTheConvolutionsChannelsLastOutput(int inChannels)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(inChannels);
        using var conv = nn.Conv2d(inChannels, 8, 3, padding: 1);
        bool agrees = new ChannelsLastConvolutionCheck(ScalarType.Float32).Agrees(conv);
        var x = randn(3, inChannels, 12, 12);
        using var noGrad = no_grad();
        var expected = conv.forward(x);
        var actual = nn.functional.conv2d(ChannelsLastLayout.ToChannelsLast(x), ChannelsLastLayout.ToChannelsLast(conv.weight!), conv.bias, padding: [1, 1]);
        double difference = (expected - actual).abs().max().item<float>() / expected.abs().max().item<float>();
        output.WriteLine($"{inChannels} channels: agrees {agrees}, channels_last differs by {difference:E2}");
        Assert.Equal(difference < 1e-4, agrees);
    }

    [Fact]
    public void TransposedAndReflectPaddedConvolutionsStayNchw()
    {
        using var reflect = nn.Conv2d(8, 8, 3, padding: 1, padding_mode: PaddingModes.Reflect);
        Assert.False(new ChannelsLastConvolutionCheck(ScalarType.Float32).Agrees(reflect));
    }
}
