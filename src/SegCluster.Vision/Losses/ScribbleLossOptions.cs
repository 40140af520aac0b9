namespace SegCluster.Vision.Losses;

/// <summary>
/// Spec of the scribble loss (PAPERS.md §5): partial CE + <see cref="Weight"/> · R(S) +
/// <see cref="ConsistencyWeight"/> · consistency loss of the feature head.
/// </summary>
/// <param name="Weight">λ on the NORMALISED regulariser R(S) / N² per image (N = grid pixels), averaged over images.
/// rloss's 2e-9 multiplies the dense un-normalised sum at half scale; for its 512×512 crops N = 256² and
/// 2e-9 · N² ≈ 8.6 is the equivalent weight here. Default 8.6.</param>
/// <param name="SigmaRgb">σ_I in 0–255 colour levels (rloss: 15).</param>
/// <param name="SigmaXy">σ_p in ORIGINAL-resolution pixels (rloss: 100; it scales σ with the image, so positions here are in original pixels).
/// rloss's 100 is about a fifth of a ~500-pixel VOC image; on small images keep that ratio (≈ 10 at 48×48):
/// with 100 on a 48-pixel image the spatial term is ≈ 1 everywhere and W becomes a global colour kernel.</param>
/// <param name="SigmaFeature">σ_f of the deep kernel on L2-normalised embeddings (‖f_i − f_j‖² ∈ [0, 4]).</param>
/// <param name="Scale">Grid scale of the regulariser (rloss: 0.5, half scale).</param>
/// <param name="MaxGridSide">Cap on the grid: at most MaxGridSide² cells N, one scale for both sides; the kernel is dense on
/// it (N² entries per image, 4 MB at 32×32).</param>
/// <param name="RgbPerUnit">Colour levels per unit of the input images. Every loader of the product standardises colours
/// (ImageNormalization: ImageNet std ≈ 0.23 of [0, 1]; the synthetic scenes likewise), so ≈ 0.23 · 255 ≈ 59, the default
/// (as the spec's); 1 for raw 0–255 images. With 1 on standardised images σ_I would span the whole colour range.</param>
/// <param name="DeepKernel">Multiply in the deep-feature kernel when the output carries an embedding (false: static rloss).</param>
/// <param name="ConsistencyWeight">Weight of the feature consistency loss mean_ij (K_f(i, j) − Σ_k S_ik S_jk)².</param>
/// <param name="WarmupSteps">Steps trained with partial CE (and the consistency head) before λ·R switches on: the
/// regularised-loss papers start from a partial-CE model, and an untrained network's predictions (and a random
/// consistency head's kernel) give R nothing to propagate. The criterion learns the step from
/// <see cref="ScribbleRegularizedCriterion.Step"/>. 0 = from the first step.</param>
public sealed record ScribbleLossOptions(
    double Weight = 8.6,
    double SigmaRgb = 15,
    double SigmaXy = 100,
    double SigmaFeature = 0.5,
    double Scale = 0.5,
    int MaxGridSide = 32,
    double RgbPerUnit = 59,
    bool DeepKernel = true,
    double ConsistencyWeight = 1,
    int WarmupSteps = 0)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        Positive(Weight, nameof(Weight), allowZero: true);
        Positive(SigmaRgb, nameof(SigmaRgb));
        Positive(SigmaXy, nameof(SigmaXy));
        Positive(SigmaFeature, nameof(SigmaFeature));
        Positive(RgbPerUnit, nameof(RgbPerUnit));
        Positive(ConsistencyWeight, nameof(ConsistencyWeight), allowZero: true);
        if (!double.IsFinite(Scale) || Scale is <= 0 or > 1)
            throw new ArgumentException($"ScribbleLossOptions.Scale = {Scale} must be in (0, 1].", nameof(Scale));
        if (WarmupSteps < 0)
            throw new ArgumentException($"ScribbleLossOptions.WarmupSteps = {WarmupSteps} must be >= 0.", nameof(WarmupSteps));
        if (MaxGridSide is < 2 or > 64)
            throw new ArgumentException($"ScribbleLossOptions.MaxGridSide = {MaxGridSide} must be in [2, 64] (the kernel is dense: N² per image).", nameof(MaxGridSide));
    }

    private static void Positive(double value, string field, bool allowZero = false)
    {
        if (!double.IsFinite(value) || value < 0 || (!allowZero && value == 0))
            throw new ArgumentException($"ScribbleLossOptions.{field} = {value} must be a finite value {(allowZero ? ">= 0" : "> 0")}.", field);
    }
}
