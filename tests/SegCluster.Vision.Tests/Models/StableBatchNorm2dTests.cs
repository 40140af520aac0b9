using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models;

/// <summary>StableBatchNorm2d is TorchSharp's BatchNorm2d in outputs, running statistics and state keys.</summary>
public class StableBatchNorm2dTests
{
    [Fact]
    public void MatchesTorchSharpBatchNormInTrainingAndEvaluation()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        using var stable = new StableBatchNorm2d(3);
        using var reference = nn.BatchNorm2d(3);
        using (no_grad())
        {
            stable.weight.copy_(rand(3));
            reference.weight.copy_(stable.weight);
        }
        for (int step = 0; step < 3; step++)
        {
            var x = randn(4, 3, 5, 5) * 2 + 1;
            Assert.True(stable.call(x).allclose(reference.call(x), atol: 1e-5));
        }
        Assert.True(stable.running_mean!.allclose(reference.running_mean!, atol: 1e-6));
        Assert.True(stable.running_var!.allclose(reference.running_var!, atol: 1e-6));
        Assert.Equal(3L, stable.num_batches_tracked!.item<long>());

        stable.eval();
        reference.eval();
        var y = randn(2, 3, 5, 5);
        Assert.True(stable.call(y).allclose(reference.call(y), atol: 1e-5));
        Assert.Equal(3L, stable.num_batches_tracked!.item<long>());  // evaluation does not count
        Assert.Equal(reference.state_dict().Keys.Order(), stable.state_dict().Keys.Order());
    }
}
