using SegCluster.Vision.Models.Decoders;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models.Decoders;

/// <summary>PAPERS.md §1's SPG module on a known case, one pixel of C = 2 channels and K = 2 classes with set weights:
/// P = W_p·F + b_p, A = σ(W_a·P + b_a), F' = F + F ⊙ A, and the ablations without σ and without the identity path.</summary>
public sealed class SemanticPredictionGuidanceTests
{
    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Refines_the_feature_by_its_prediction_guided_attention(bool sigmoid, bool identity)
    {
        using var scope = NewDisposeScope();
        using var spg = new SemanticPredictionGuidance(channels: 2, numClasses: 2, sigmoid, identity);
        using (no_grad())
        {
            spg.Classifier.weight!.copy_(tensor(new float[] { 1, 2, -1, 0.5f }).reshape(2, 2, 1, 1));
            spg.Classifier.bias!.copy_(tensor(new float[] { 0.5f, -1 }));
            var attend = (TorchSharp.Modules.Conv2d)spg.named_children().Single(c => c.name != "predict").module;
            attend.weight!.copy_(tensor(new float[] { 0.25f, -0.5f, 1, 1 }).reshape(2, 2, 1, 1));
            attend.bias!.copy_(tensor(new float[] { 0, -2 }));
        }
        var feature = tensor(new float[] { 2, -1 }).reshape(1, 2, 1, 1);

        var (refined, prediction) = spg.forward(feature);

        // P = [1·2 + 2·(−1) + 0.5, −1·2 + 0.5·(−1) − 1] = [0.5, −3.5]
        Assert.Equal(new[] { 0.5f, -3.5f }, prediction.flatten().data<float>().ToArray());
        // W_a·P + b_a = [0.25·0.5 − 0.5·(−3.5), 0.5 − 3.5 − 2] = [1.875, −5]
        double[] logits = [1.875, -5];
        var a = logits.Select(z => sigmoid ? 1 / (1 + Math.Exp(-z)) : z).ToArray();
        double[] f = [2, -1];
        var expected = f.Select((x, c) => identity ? x + x * a[c] : x * a[c]).ToArray();
        var actual = refined.flatten().data<float>().ToArray();
        for (int c = 0; c < 2; c++) Assert.Equal(expected[c], actual[c], 5);
    }
}
