using SegCluster.Vision.Models.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Decoders;

/// <summary>
/// SPG module (PAPERS.md §1, "SPG module on a decoder feature F"):
///   1. semantic prediction P = Conv1×1(F) → K logits, supervised by the label (auxiliary CE);
///   2. guided attention A = σ(Conv1×1(P)) with C channels, a pixel- and channel-wise mask;
///   3. re-weighted feature F' = F + F ⊙ A (identity path + excitation).
/// The paper ranks the three (supervision, sigmoid excitation, identity) as all useful; this is the
/// full variant by default; <c>sigmoid</c> and <c>identity</c> switch steps 2 and 3 off for the ablation
/// (supervision is the model's choice of returning P). Attention is computed from P (the "P or F"
/// choice) so it is guided by the semantics.
/// </summary>
public sealed class SemanticPredictionGuidance : nn.Module<Tensor, (Tensor Refined, Tensor Prediction)>, IClassifierOwner
{
    private readonly TorchSharp.Modules.Conv2d predict;
    private readonly nn.Module<Tensor, Tensor> attend;
    private readonly bool sigmoid;
    private readonly bool identity;

    /// <param name="sigmoid">A = σ(Conv1×1(P)) when true, the linear Conv1×1(P) otherwise.</param>
    /// <param name="identity">F' = F + F ⊙ A when true, F ⊙ A otherwise.</param>
    public SemanticPredictionGuidance(int channels, int numClasses, bool sigmoid = true, bool identity = true) : base(nameof(SemanticPredictionGuidance))
    {
        this.sigmoid = sigmoid;
        this.identity = identity;
        predict = nn.Conv2d(channels, numClasses, kernel_size: 1);
        attend = nn.Conv2d(numClasses, channels, kernel_size: 1);
        RegisterComponents();
    }

    /// <summary>The prediction P's 1×1 convolution to K classes.</summary>
    public TorchSharp.Modules.Conv2d Classifier => predict;

    /// <param name="feature">F: (B, C, h, w).</param>
    /// <returns>F' (B, C, h, w) and P (B, K, h, w).</returns>
    public override (Tensor Refined, Tensor Prediction) forward(Tensor feature)
    {
        using var scope = NewDisposeScope();
        var p = predict.call(feature);                 // (B, K, h, w)
        var a = attend.call(p);                        // (B, C, h, w)
        if (sigmoid) a = nn.functional.sigmoid(a);        // in (0, 1)
        var excited = feature * a;                        // (B, C, h, w)
        var refined = identity ? Layers.Add(feature, excited) : excited;
        return (refined.MoveToOuterDisposeScope(), p.MoveToOuterDisposeScope());
    }
}
