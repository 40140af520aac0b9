using SegCluster.Vision.Labels;
using SegCluster.Vision.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Losses;

/// <summary>
/// Dynamic feature regularised loss for scribbles (Zhang et al. 2021, PAPERS.md §5):
/// partial CE on scribbled pixels (every other pixel carries the ignore label; auxiliaries as in
/// <see cref="SegmentationCriterion"/>) + λ · R(S) + γ · consistency.
/// R(S) = Σ_k S_kᵀ W (1 − S_k) with the dense-CRF style kernel
/// W_ij = exp(−‖p_i−p_j‖²/2σ_p² − ‖I_i−I_j‖²/2σ_I²) · exp(−‖f_i−f_j‖²/2σ_f²), i.e. the shallow (rloss)
/// kernel times the deep kernel on the feature consistency head's embeddings (detached: R shapes the
/// segmentation, not the features), the product being one Gaussian on the joint [p/σ_p, I/σ_I, f/σ_f].
/// MEMORY: R is computed DENSELY on a down-sampled grid, S and I bilinearly resized to
/// <see cref="ScribbleLossOptions.Scale"/> × the input size capped at
/// <see cref="ScribbleLossOptions.MaxGridSide"/> per side (N ≤ 32² → N² ≤ 1M kernel entries, 4 MB,
/// per image, one image at a time; no local window). Normalisation: R / N² per image, summed over the
/// batch and divided by the GLOBAL image count (see <see cref="ScribbleLossOptions.Weight"/> for the
/// equivalent of rloss's 2e-9). Consistency: mean_ij (K_f(i, j) − Σ_k S_ik S_jk)² with S detached and
/// K_f the deep kernel WITH gradient into the embedding, per image, averaged over images.
/// Without an embedding the deep kernel and the consistency term are dropped (the term stays, at zero,
/// so every rank reports the same terms).
/// </summary>
public sealed class ScribbleRegularizedCriterion : ISegmentationCriterion
{
    // The formula's constants, held for the process (a temporary Scalar can be freed mid-call: KeptScalars).
    private static readonly Scalar MinusHalf = (-0.5).ToScalar();  // exp(−½ ‖·‖²)

    private readonly SegmentationCriterion _partial;

    /// <summary>The labels given to <see cref="Terms"/> are scribbles: a dataset's own, or drawn from full masks by the
    /// training source (<see cref="ScribbleSynthesizer"/>).</summary>
    public ScribbleRegularizedCriterion(LossOptions loss, ScribbleLossOptions scribble)
    {
        ArgumentNullException.ThrowIfNull(scribble);
        scribble.Validate();
        _partial = new SegmentationCriterion(loss);
        loss.RequireFullResolutionLabels(nameof(ScribbleRegularizedCriterion));  // R(S) and the kernel read full-resolution logits and images
        Options = scribble;
    }

    public ScribbleLossOptions Options { get; }

    /// <summary>Optimizer steps taken so far; the training loop advances it (λ·R is 0 while
    /// Step &lt; <see cref="ScribbleLossOptions.WarmupSteps"/>).</summary>
    public int Step { get; set; }

    /// <summary>The weight of R at the current <see cref="Step"/>.</summary>
    public double RegulariserWeight => Step < Options.WarmupSteps ? 0 : Options.Weight;

    /// <inheritdoc/>
    public bool ReadsContent => true;

    /// <inheritdoc/>
    public LossTerms Terms(SegmentationOutput output, Tensor labels, Tensor images, Tensor? content = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(images);
        var partial = _partial.Terms(output, labels);
        // While λ is 0 (warm-up) R is not computed: its N×N kernel product per image would be weighted away.
        var (regulariser, consistency) = Regulariser(output.Logits, images, Options.DeepKernel ? output.Embedding : null, content,
            withRegulariser: RegulariserWeight != 0);
        var batch = LossTerms.Constant(output.Logits.shape[0], output.Logits.device);
        return new LossTerms(
            [.. partial.Sums, regulariser, consistency],
            [.. partial.Counts, batch, batch],
            [.. partial.Weights, RegulariserWeight, Options.ConsistencyWeight]);
    }

    /// <summary>Single-process loss: the terms normalised by their local counts.</summary>
    public Tensor Forward(SegmentationOutput output, Tensor labels, Tensor images) =>
        SegmentationCriterion.LocalLoss(this, output, labels, images);

    /// <summary>
    /// Σ_b R(S_b) / N² and Σ_b consistency_b, as scalars with autograd history.
    /// </summary>
    /// <param name="logits">(B, K, H, W).</param>
    /// <param name="images">(B, 3, H, W) in units of <see cref="ScribbleLossOptions.RgbPerUnit"/> colour levels.</param>
    /// <param name="embedding">(B, E, h, w) L2-normalised, or null for the shallow kernel only.</param>
    /// <param name="content">(B, 1, H, W) 1 on image content, 0 on crop padding, or null: R sums over content only (rloss's
    /// ROI): S and 1 − S are weighted by each grid cell's content share, so padded cells neither pay nor pull; the
    /// consistency is a mean over content pairs.</param>
    /// <param name="withRegulariser">False: R is left at zero (no kernel is built), the consistency alone is computed.</param>
    public (Tensor Regulariser, Tensor Consistency) Regulariser(Tensor logits, Tensor images, Tensor? embedding, Tensor? content = null,
        bool withRegulariser = true)
    {
        using var scope = NewDisposeScope();
        long b = logits.shape[0], height = logits.shape[2], width = logits.shape[3];
        var size = Grid(height, width);
        long gh = size[0], gw = size[1], n = gh * gw;
        var probabilities = Resize(nn.functional.softmax(logits, 1), size).flatten(2);                 // (B, K, N)
        var roi = content is null ? null : Resize(content.to(probabilities.dtype), size).flatten(2);   // (B, 1, N) content share
        var shallow = ShallowFeatures(images, height, width, size);                                   // (B, N, 5)
        var features = embedding is null ? null : EmbeddingFeatures(embedding, size);               // (B, N, E)
        using var pairs = ((double)(n * n)).ToScalar();

        Tensor regulariser = zeros(1, device: logits.device).squeeze(0), consistency = regulariser;
        for (long i = 0; i < b; i++)
        {
            var deep = features is null ? null : SquaredDistances(features[i]).mul(MinusHalf);   // (N, N), grad into the embedding
            var s = probabilities[i];                                                             // (K, N)
            if (withRegulariser)
            {
                var logKernel = SquaredDistances(shallow[i]).mul(MinusHalf);                      // (N, N)
                if (deep is not null) logKernel = logKernel.add(deep.detach(), KeptScalars.One);
                var kernel = logKernel.exp();                                                     // W (N, N), no grad
                // R = Σ_k S_kᵀ W (1 − S_k) = Σ_{k, i} S_ki · (W (1 − S)ᵀ)_ik
                var oneMinusS = s.neg().add_(KeptScalars.One, KeptScalars.One);                   // 1 − S (K, N)
                var paid = roi is null ? s : s * roi[i];                                          // padding: no S ...
                if (roi is not null) oneMinusS = oneMinusS * roi[i];                              // ... and no 1 − S
                var r = (paid.t() * kernel.matmul(oneMinusS.t())).sum().div(pairs);
                regulariser = regulariser.add(r, KeptScalars.One);
            }
            if (deep is not null)
            {
                var agreement = s.detach().t().matmul(s.detach());                                // (N, N) P(same label)
                var squared = (deep.exp() - agreement).pow(KeptScalars.Two);
                // Over content pairs only (weights m_i·m_j): the padding's embedding has nothing to agree with.
                var mean = roi is null ? squared.mean() : WeightedMean(squared, roi[i].t().matmul(roi[i]));
                consistency = consistency.add(mean, KeptScalars.One);
            }
        }
        return (regulariser.MoveToOuterDisposeScope(), consistency.MoveToOuterDisposeScope());
    }

    /// <summary>Σ w·x / Σ w, or 0 when the weights are all 0 (a crop of padding only).</summary>
    private static Tensor WeightedMean(Tensor x, Tensor weights) =>
        (x * weights).sum().div(weights.sum().clamp_min(KeptScalars.MassFloor));

    /// <summary>The kernel W (B, N, N) on the grid, without gradient (for inspection and tests).</summary>
    /// <param name="images">(B, 3, H, W).</param>
    /// <param name="embedding">(B, E, h, w) or null for the shallow kernel only.</param>
    public Tensor Kernel(Tensor images, Tensor? embedding)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long height = images.shape[2], width = images.shape[3];
        var size = Grid(height, width);
        var joint = ShallowFeatures(images, height, width, size);                                   // (B, N, 5)
        if (embedding is not null)
            joint = cat([joint, EmbeddingFeatures(embedding, size)], 2);                            // (B, N, 5 + E)
        var kernels = Enumerable.Range(0, (int)joint.shape[0]).Select(i => SquaredDistances(joint[i]).mul(MinusHalf).exp()).ToList();
        return stack(kernels).MoveToOuterDisposeScope();
    }

    /// <summary>[p/σ_p, I·RgbPerUnit/σ_I] per grid pixel, positions in original pixels: (B, N, 5).</summary>
    private Tensor ShallowFeatures(Tensor images, long height, long width, long[] size)
    {
        using var scope = NewDisposeScope();
        long gh = size[0], gw = size[1];
        using var colourScale = (Options.RgbPerUnit / Options.SigmaRgb).ToScalar();
        using var sigmaXy = Options.SigmaXy.ToScalar();
        var colours = Resize(images, size).flatten(2).mul(colourScale);                               // (B, 3, N)
        var ys = CellCentres(gh, height, images.device);                                              // (gh)
        var xs = CellCentres(gw, width, images.device);                                               // (gw)
        var positions = stack([ys.unsqueeze(1).expand(gh, gw), xs.unsqueeze(0).expand(gh, gw)]).flatten(1).div(sigmaXy);  // (2, N)
        var joint = cat([positions.unsqueeze(0).expand(colours.shape[0], 2, gh * gw), colours], 1);  // (B, 5, N)
        return joint.transpose(1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>(j + ½) · side / cells for j = 0 … cells − 1: the grid cells' centres in original pixels.</summary>
    private static Tensor CellCentres(long cells, long side, Device device)
    {
        using var count = cells.ToScalar();
        using var pitch = (side / (double)cells).ToScalar();
        return arange(KeptScalars.Zero, count, KeptScalars.One, ScalarType.Float32, device).add_(KeptScalars.Half, KeptScalars.One).mul_(pitch);
    }

    /// <summary>The embedding on the grid as features f/σ_f: (B, E, h, w) → (B, N, E). Unit length again after the
    /// resize: averaging a cell's embeddings shortens them where they differ (object boundaries), which would shrink
    /// ‖f_i − f_j‖² there, below the [0, 4] range σ_f is chosen for, and raise the deep affinity across edges. The norm
    /// is clamped at 0.5 (normalize's eps) so a cell averaging near-opposite embeddings, ‖v‖ ≈ 0, cannot amplify the
    /// consistency gradient by 1/‖v‖.</summary>
    private Tensor EmbeddingFeatures(Tensor embedding, long[] size)
    {
        using var sigma = Options.SigmaFeature.ToScalar();
        return nn.functional.normalize(Resize(embedding, size), p: 2, dim: 1, eps: 0.5).flatten(2).transpose(1, 2).div(sigma);
    }

    /// <summary>The regulariser's grid for an (H, W) input: <see cref="ScribbleLossOptions.Scale"/> × each side, or the
    /// smaller <see cref="EffectiveScale"/> that keeps it within max_grid_side² cells; one scale for both sides, so cells
    /// stay square (a per-side clamp made 16×32-pixel cells at 512×1024). Capped sides round down: N stays in budget.</summary>
    public long[] Grid(long height, long width)
    {
        var scale = EffectiveScale(height, width);
        Func<double, double> round = scale < Options.Scale ? Math.Floor : Math.Round;
        return [Math.Max(1, (long)round(height * scale)), Math.Max(1, (long)round(width * scale))];
    }

    /// <summary>The scale actually used at (H, W): min(scale, max_grid_side / √(H·W)), the dense kernel's N² budget of
    /// max_grid_side⁴ entries; inputs over max_grid_side / scale pixels a side run coarser than
    /// <see cref="ScribbleLossOptions.Scale"/> asks.</summary>
    public double EffectiveScale(long height, long width) => Math.Min(Options.Scale, Options.MaxGridSide / Math.Sqrt((double)height * width));

    /// <summary>
    /// To the grid: shrinking averages each cell's pixels (area, as the cell centres assume), so every pixel's prediction
    /// gets R's gradient; bilinear reads 2×2 pixels per cell whatever the factor, 1/f² of them at f > 2 (1.6% at 512²).
    /// Growing (a coarse embedding) interpolates bilinearly.
    /// </summary>
    private static Tensor Resize(Tensor x, long[] size)
    {
        if (x.shape[2] == size[0] && x.shape[3] == size[1]) return x;
        return x.shape[2] >= size[0] && x.shape[3] >= size[1]
            ? nn.functional.adaptive_avg_pool2d(x, size)
            : nn.functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: false);
    }

    /// <summary>‖x_i − x_j‖² for rows of <paramref name="x"/> (N, F) → (N, N), clamped at 0.</summary>
    private static Tensor SquaredDistances(Tensor x)
    {
        // ‖a‖² + ‖b‖² − 2aᵀb, every Scalar kept (x.square() would make a temporary one, see KeptScalars)
        var norms = x.pow(KeptScalars.Two).sum(1, keepdim: true);                                 // (N, 1)
        return norms.add(norms.t(), KeptScalars.One).sub(x.matmul(x.t()).mul(KeptScalars.Two)).clamp_min(KeptScalars.Zero);
    }
}
