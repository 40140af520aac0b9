using SegCluster.Vision.Models.Backbones;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Classification;

/// <summary>
/// torchvision's ImageNet classifier: <see cref="TorchvisionResNet"/> → global average pool → fc to K classes.
/// Exists so parameter and FLOP counts can be checked against the published ones (ResNet-50: 25,557,032
/// parameters, ~4.1 GMACs at 224×224). Its state-dict keys are torchvision's (conv1.*, layer1.*, …, fc.*):
/// the backbone's parts are registered directly under their own names, not under a "backbone." prefix,
/// so a classifier file loads into a backbone through <see cref="BackboneWeights"/> (fc.* ignored).
/// </summary>
public sealed class ResNetClassifier : nn.Module<Tensor, Tensor>
{
    private readonly TorchvisionResNet backbone;
    private readonly TorchSharp.Modules.Linear fc;

    public ResNetClassifier(int depth, int numClasses = 1000, int width = 64, NormKind norm = NormKind.BatchNorm) : base($"ResNet{depth}Classifier")
    {
        backbone = new TorchvisionResNet(depth, width, norm);
        fc = nn.Linear(backbone.Channels[^1], numClasses);
        // Not RegisterComponents(): that would register the backbone as "backbone.*".
        foreach (var (name, module) in backbone.Parts) register_module(name, module);
        register_module("fc", fc);
    }

    /// <summary>The feature extractor (shares its parameters with this module).</summary>
    public TorchvisionResNet Backbone => backbone;

    /// <param name="images">(B, 3, H, W).</param>
    /// <returns>(B, K) logits.</returns>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var feature = backbone.call(images)[^1];                              // (B, 8C·e, H/32, W/32)
        var pooled = nn.functional.adaptive_avg_pool2d(feature, [1, 1]).flatten(1);  // (B, 8C·e)
        return fc.call(pooled).MoveToOuterDisposeScope();
    }
}
