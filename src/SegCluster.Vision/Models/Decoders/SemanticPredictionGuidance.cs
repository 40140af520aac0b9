using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Decoders;

/// <summary>
/// SPG module (PAPERS.md §1, "SPG module on a decoder feature F"):
///   1. semantic prediction P = Conv1×1(F) → K logits, supervised by the label (auxiliary CE);
///   2. guided attention A = σ(Conv1×1(P)) with C channels, a pixel- and channel-wise mask;
///   3. re-weighted feature F' = F + F ⊙ A (identity path + excitation).
/// The paper ranks the three (supervision, sigmoid excitation, identity) as all useful; this is the
/// full variant. Attention is computed from P (the "P or F" choice) so it is guided by the semantics.
/// </summary>
public sealed class SemanticPredictionGuidance : nn.Module<Tensor, (Tensor Refined, Tensor Prediction)>
{
    private readonly nn.Module<Tensor, Tensor> predict;
    private readonly nn.Module<Tensor, Tensor> attend;

    public SemanticPredictionGuidance(int channels, int numClasses) : base(nameof(SemanticPredictionGuidance))
    {
        predict = nn.Conv2d(channels, numClasses, kernel_size: 1);
        attend = nn.Conv2d(numClasses, channels, kernel_size: 1);
        RegisterComponents();
    }

    /// <param name="feature">F: (B, C, h, w).</param>
    /// <returns>F' (B, C, h, w) and P (B, K, h, w).</returns>
    public override (Tensor Refined, Tensor Prediction) forward(Tensor feature)
    {
        using var scope = NewDisposeScope();
        var p = predict.forward(feature);                 // (B, K, h, w)
        var a = nn.functional.sigmoid(attend.forward(p));    // (B, C, h, w) in (0, 1)
        var refined = feature + feature * a;              // (B, C, h, w)
        return (refined.MoveToOuterDisposeScope(), p.MoveToOuterDisposeScope());
    }
}
