using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training;

public class HostGradientBufferTests
{
    [Fact]
    public void OnCpuTheSharedGradientIsTheReducersArray()
    {
        using var buffer = new HostGradientBuffer(6, CPU);
        var gradient = buffer.SharedGradient!;

        using (no_grad()) gradient.copy_(arange(6, ScalarType.Float32));
        Assert.Equal([0f, 1, 2, 3, 4, 5], buffer.Values);  // what the tensor holds, the reducer sees
        buffer.Values[2] = 40;                              // what the reducer writes, the tensor holds
        Assert.Equal(40f, gradient[2].item<float>());

        buffer.Download(gradient);  // nothing to copy either way
        buffer.Upload(gradient);
        Assert.Equal([0f, 1, 40, 3, 4, 5], buffer.Values);
    }

    [Fact]
    public void AnotherCpuGradientIsCopiedToAndFromTheArray()
    {
        using var buffer = new HostGradientBuffer(4, CPU);
        using var gradient = tensor(new[] { 1f, 2, 3, 4 });

        buffer.Download(gradient);
        Assert.Equal([1f, 2, 3, 4], buffer.Values);
        for (int i = 0; i < 4; i++) buffer.Values[i] *= 10;
        buffer.Upload(gradient);
        Assert.Equal([10f, 20, 30, 40], gradient.data<float>().ToArray());
        Assert.Equal(0f, buffer.SharedGradient!.sum().item<float>() - 100f);  // the shared tensor is the array
    }
}
