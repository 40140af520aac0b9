using SegCluster.Vision.Losses;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models.Scribbles;

/// <summary>The feature consistency head (PAPERS.md §5) trains itself only: it reads the backbone feature detached and the
/// consistency loss takes the predictions S as a detached target, so that loss alone gives the segmentation network no
/// gradient and the head one.</summary>
public sealed class FeatureConsistencyNetTests
{
    [Fact]
    public void The_consistency_loss_trains_the_head_and_leaves_the_segmentation_network_alone()
    {
        using var scope = NewDisposeScope();
        using var model = TestData.ScribbleModel(seed: 9);
        var images = randn(1, 3, 32, 32);
        var output = model.forward(images);
        var criterion = new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions());

        var (_, consistency) = criterion.Regulariser(output.Logits, images, output.Embedding);
        consistency.backward();

        var inner = TestData.ParametersUnder(model, "inner");
        var head = TestData.ParametersUnder(model, "projection");
        Assert.NotEmpty(inner);
        Assert.NotEmpty(head);
        Assert.All(inner, p => Assert.True(TestData.GradientMass(p.Parameter) == 0, $"the consistency loss put gradient on {p.Name}"));
        Assert.All(head, p => Assert.True(TestData.GradientMass(p.Parameter) > 0, $"{p.Name} got no gradient"));
    }
}
