using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
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

    /// <summary>One value per channel (a batch of one through a 1×1 feature): ATen's unbiased running variance divided by
    /// n − 1 = 0 and left NaN, so every later evaluation output was NaN. Refused as PyTorch's BatchNorm refuses it.</summary>
    [Fact]
    public void One_value_per_channel_in_training_is_refused_and_leaves_the_statistics_alone()
    {
        using var scope = NewDisposeScope();
        using var norm = new StableBatchNorm2d(3);
        var error = Assert.Throws<RunSettingException>(() => norm.call(randn(1, 3, 1, 1)));  // the message is the whole story: no stack in the logs
        Assert.Contains("training.batch_per_worker", error.Message);
        Assert.True(norm.running_var!.isfinite().all().item<bool>());
        Assert.Equal(0L, norm.num_batches_tracked!.item<long>());

        norm.call(randn(2, 3, 1, 1));  // two values per channel train
        norm.eval();
        Assert.True(norm.call(randn(1, 3, 1, 1)).isfinite().all().item<bool>());  // and evaluation takes a single one
    }
}
