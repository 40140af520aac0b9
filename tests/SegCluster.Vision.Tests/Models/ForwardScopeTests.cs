using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;
using SegCluster.Vision.Models.Scribbles;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models;

/// <summary>SegmentationModel.forward's template: intermediates are freed, each output tensor lands in the caller's scope once.</summary>
public class ForwardScopeTests
{
    [Theory]
    [InlineData("spgnet", 3)]          // logits, P, feature
    [InlineData("encoder-decoder", 2)] // logits, feature
    [InlineData("deeplabv3plus", 2)]   // logits, feature
    [InlineData("unet", 2)]            // logits, feature
    [InlineData("dan", 2)]             // logits, feature
    [InlineData("vit", 2)]             // logits, feature
    public void OnlyTheOutputTensorsSurviveTheForward(string name, int tensors)
    {
        random.manual_seed(3);
        using var model = ModelRegistry.Create(new ModelOptions(name, NumClasses: 3, Width: 4));
        using var images = randn(2, 3, 32, 32);  // two: BatchNorm over DeepLabV3+'s pooled 1×1 branch needs 2 values per channel
        using var scope = NewDisposeScope();
        model.call(images);
        Assert.Equal(tensors, scope.DisposablesCount);
    }

    [Fact]
    public void WrappersAddTheirTensorsOnce()
    {
        random.manual_seed(3);
        using var images = randn(1, 3, 32, 32);
        using (var consistency = new FeatureConsistencyNet(ModelRegistry.Create(new ModelOptions("spgnet", 3, 4)), 4))
        using (var scope = NewDisposeScope())
        {
            consistency.call(images);
            Assert.Equal(4, scope.DisposablesCount);  // logits, P, feature, embedding
        }
        using var suppression = new ClassSuppressionNet(ModelRegistry.Create(new ModelOptions("encoder-decoder", 3, 4)), new ClassSuppressionOptions());
        suppression.train();
        using (var scope = NewDisposeScope())
        {
            suppression.call(images);
            Assert.Equal(3, scope.DisposablesCount);  // drop-branch logits, its feature, plain logits
        }
        using (var scope = NewDisposeScope())
        {
            suppression.Forward(images, droppedClass: 1);
            Assert.Equal(3, scope.DisposablesCount);
        }
    }

    [Fact]
    public void VitBackbonesFollowTheModelOptions()
    {
        random.manual_seed(3);
        using var small = ModelRegistry.Create(new ModelOptions("vit", 3, 4, Backbone: "vit-s"));
        using var tiny = ModelRegistry.Create(new ModelOptions("vit", 3, 4));
        Assert.True(small.ParameterCount > 21_000_000 && tiny.ParameterCount < 1_000_000, $"vit-s {small.ParameterCount}, tiny {tiny.ParameterCount}");
        var error = Assert.Throws<ArgumentException>(() => ModelRegistry.Create(new ModelOptions("spgnet", 3, 4, Backbone: "vit-s")));
        Assert.Contains("resnet50", error.Message, StringComparison.Ordinal);
    }
}
