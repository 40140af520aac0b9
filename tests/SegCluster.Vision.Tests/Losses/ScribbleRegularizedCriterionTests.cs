using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Scribbles;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Losses;

public class ScribbleRegularizedCriterionTests
{
    private static ScribbleRegularizedCriterion Criterion(double weight = 1, double consistency = 1) =>
        new(new LossOptions(), new ScribbleLossOptions(Weight: weight, RgbPerUnit: 59, ConsistencyWeight: consistency));

    [Fact]
    public void RegulariserIsZeroForAConstantOneHotPrediction()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        var logits = zeros(2, 3, 16, 16);
        logits[.., 1] = tensor(100f);  // softmax is one-hot on class 1 everywhere
        var (r, _) = Criterion().Regulariser(logits, randn(2, 3, 16, 16), nn.functional.normalize(randn(2, 4, 4, 4), dim: 1));
        Assert.InRange(r.item<float>(), 0f, 1e-7f);
        // A split prediction across a uniform image is penalised.
        logits[.., 1, .., TensorIndex.Slice(0, 8)] = tensor(-100f);
        var (split, _) = Criterion().Regulariser(logits, zeros(2, 3, 16, 16), null);
        Assert.True(split.item<float>() > 0.1f, $"R = {split.item<float>()}");
    }

    /// <summary>
    /// R(S) = Σ_k S_kᵀ W (1 − S_k) / N² on a known 2×2 case at grid scale 1 (N = 4), the shallow kernel written out:
    /// W_ij = exp(−‖p_i − p_j‖²/2σ_p² − ‖I_i − I_j‖²/2σ_I²), positions the pixel centres, colours in levels (RgbPerUnit).
    /// </summary>
    [Fact]
    public void Regulariser_matches_the_formula_on_a_two_by_two_case()
    {
        using var scope = NewDisposeScope();
        var options = new ScribbleLossOptions(Weight: 1, Scale: 1, SigmaRgb: 15, SigmaXy: 2, RgbPerUnit: 59, ConsistencyWeight: 0);
        var criterion = new ScribbleRegularizedCriterion(new LossOptions(), options);
        double[] p = [0.9, 0.2, 0.6, 0.5];                                // P(class 0) per pixel, row-major
        var logits = tensor(p.SelectMany(q => new[] { (float)Math.Log(q), (float)Math.Log(1 - q) }).ToArray()).reshape(2, 2, 2).permute(2, 0, 1).unsqueeze(0);
        double[] grey = [0.0, 0.1, 0.3, 0.0];                             // image units; × 59 levels, the same in R, G, B
        var images = tensor(grey.Select(g => (float)g).ToArray()).reshape(1, 1, 2, 2).expand(1, 3, 2, 2).contiguous();

        var (r, _) = criterion.Regulariser(logits, images, null);

        double expected = 0;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
            {
                double dy = i / 2 - j / 2, dx = i % 2 - j % 2, dI = (grey[i] - grey[j]) * 59;
                double w = Math.Exp(-(dy * dy + dx * dx) / (2 * 2.0 * 2.0) - 3 * dI * dI / (2 * 15.0 * 15.0));
                expected += w * (p[i] * (1 - p[j]) + (1 - p[i]) * p[j]);  // k = 0 and k = 1
            }
        Assert.Equal(expected / 16, r.item<float>(), 5);
    }

    /// <summary>
    /// The feature consistency loss (PAPERS.md §5: the head's pairwise similarity should agree with the current predictions) on
    /// N = 2 grid pixels at scale 1, as the criterion defines it: mean over all N² pairs (diagonal included) of
    /// (K_f(i, j) − Σ_k S_ik S_jk)², K_f = exp(−‖f_i − f_j‖² / 2σ_f²), S the softmax (a target: detached).
    /// f_1 = (1, 0), f_2 = (0, 1), σ_f = 0.5: ‖f_1 − f_2‖² = 2, so K_f = [[1, e⁻⁴], [e⁻⁴, 1]].
    /// S = [(0.9, 0.1), (0.2, 0.8)]: S Sᵀ = [[0.81 + 0.01, 0.18 + 0.08], [·, 0.04 + 0.64]] = [[0.82, 0.26], [0.26, 0.68]].
    /// Loss = [(1 − 0.82)² + (1 − 0.68)² + 2 (e⁻⁴ − 0.26)²] / 4 = [0.0324 + 0.1024 + 2 · 0.0584114] / 4 ≈ 0.0629057.
    /// </summary>
    [Fact]
    public void Consistency_matches_the_formula_on_two_embeddings()
    {
        using var scope = NewDisposeScope();
        var criterion = new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions(Scale: 1, SigmaFeature: 0.5));
        // (1, K = 2, 1, 2): log-probabilities, so the softmax is exactly S
        var logits = tensor(new[] { MathF.Log(0.9f), MathF.Log(0.2f), MathF.Log(0.1f), MathF.Log(0.8f) }).reshape(1, 2, 1, 2).requires_grad_(true);
        var embedding = tensor(new float[] { 1, 0, 0, 1 }).reshape(1, 2, 1, 2).requires_grad_(true);  // f_1 = (1, 0), f_2 = (0, 1)
        Assert.Equal([1L, 2L], criterion.Grid(1, 2));

        var (_, consistency) = criterion.Regulariser(logits, zeros(1, 3, 1, 2), embedding);

        double expected = (Math.Pow(1 - 0.82, 2) + Math.Pow(1 - 0.68, 2) + 2 * Math.Pow(Math.Exp(-4) - 0.26, 2)) / 4;
        Assert.Equal(expected, consistency.item<float>(), 6);
        consistency.backward();
        Assert.Null(logits.grad);                                                  // S is the target, not trained by it
        Assert.True(embedding.grad!.abs().sum().item<float>() > 0);                // the deep kernel is
    }

    /// <summary>R(S) shapes the segmentation, not the features: its deep kernel is detached, so R's backward leaves the
    /// feature consistency head's parameters without gradient while the segmentation network gets one (and the deep
    /// kernel does change R, so the check is not vacuous).</summary>
    [Fact]
    public void The_regulariser_leaves_the_consistency_head_without_gradient()
    {
        using var scope = NewDisposeScope();
        using var model = TestData.ScribbleModel(seed: 8);
        var images = randn(1, 3, 32, 32);
        var output = model.forward(images);

        var (r, _) = Criterion().Regulariser(output.Logits, images, output.Embedding);
        var (shallowOnly, _) = Criterion().Regulariser(output.Logits.detach(), images, null);
        Assert.True(Math.Abs(r.item<float>() - shallowOnly.item<float>()) > 1e-6, "the deep kernel did not change R");
        r.backward();

        Assert.All(TestData.ParametersUnder(model, "projection"), p => Assert.True(TestData.GradientMass(p.Parameter) == 0, $"R put gradient on {p.Name}"));
        Assert.True(TestData.ParametersUnder(model, "inner").Sum(p => TestData.GradientMass(p.Parameter)) > 0);
    }

    /// <summary>
    /// Crop padding (image 0, label ignore past the scaled image) is outside R, as rloss's ROI: on a 16×16 crop whose right
    /// half is padding, R with the content mask sums exactly the pairs of the 16×8 content (same kernel: positions in
    /// pixels, colours), so R·N² equals the unpadded crop's; without the mask the padding's pairs count too.
    /// </summary>
    [Fact]
    public void Crop_padding_is_outside_the_regulariser()
    {
        using var scope = NewDisposeScope();
        var criterion = new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions(Scale: 1, SigmaXy: 4, RgbPerUnit: 59, ConsistencyWeight: 0));
        random.manual_seed(5);
        var contentLogits = randn(1, 3, 16, 8);
        var contentImage = randn(1, 3, 16, 8);
        var logits = cat([contentLogits, randn(1, 3, 16, 8)], 3);      // whatever the network says on the padding
        var image = cat([contentImage, zeros(1, 3, 16, 8)], 3);
        var content = cat([ones(1, 1, 16, 8), zeros(1, 1, 16, 8)], 3);

        var (masked, _) = criterion.Regulariser(logits, image, null, content);
        var (crop, _) = criterion.Regulariser(contentLogits, contentImage, null);
        var (unmasked, _) = criterion.Regulariser(logits, image, null);

        Assert.Equal(crop.item<float>() * 128 * 128, masked.item<float>() * 256 * 256, 2);
        Assert.True(Math.Abs(unmasked.item<float>() - masked.item<float>()) > 1e-3, "the padding should count without the mask");

        // The consistency loss is the mean over content pairs: the crop's own.
        var contentEmbedding = nn.functional.normalize(randn(1, 4, 16, 8), dim: 1);
        var embedding = cat([contentEmbedding, nn.functional.normalize(randn(1, 4, 16, 8), dim: 1)], 3);
        var (_, maskedConsistency) = criterion.Regulariser(logits, image, embedding, content);
        var (_, cropConsistency) = criterion.Regulariser(contentLogits, contentImage, contentEmbedding);
        Assert.Equal(cropConsistency.item<float>(), maskedConsistency.item<float>(), 5);
    }

    /// <summary>At 128² the grid is 32² (factor 4): bilinear shrinking read 2×2 of each 4×4 cell, so R's gradient reached
    /// a quarter of the pixels; area shrinking reaches every one.</summary>
    [Fact]
    public void RegulariserGradientReachesEveryPixelWhenTheGridIsCoarser()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var logits = randn(1, 3, 128, 128).requires_grad_(true);
        var (r, _) = Criterion().Regulariser(logits, randn(1, 3, 128, 128), nn.functional.normalize(randn(1, 4, 128, 128), dim: 1));
        r.backward();
        var reached = logits.grad!.abs().sum(1).gt(0).sum().item<long>();
        Assert.Equal(128L * 128, reached);
    }

    [Fact]
    public void KernelIsSymmetricWithUnitDiagonalAndDecaysWithColourDistance()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var images = randn(1, 3, 16, 16);
        var kernel = Criterion().Kernel(images, nn.functional.normalize(randn(1, 4, 4, 4), dim: 1))[0];  // (N, N), N = 8·8
        Assert.Equal(new long[] { 64, 64 }, kernel.shape);
        Assert.True(kernel.allclose(kernel.t(), atol: 1e-6));
        Assert.True(kernel.diagonal().allclose(ones(64), atol: 1e-5));
        Assert.True(kernel.le(1 + 1e-6).all().item<bool>());
        var uniform = Criterion().Kernel(zeros(1, 3, 16, 16), null)[0];
        Assert.True(uniform.min().item<float>() > kernel.min().item<float>());  // colour differences lower W
    }

    [Fact]
    public void PartialCrossEntropyIgnoresUnscribbledPixels()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var logits = randn(1, 3, 16, 16, requires_grad: true);
        var labels = full(new long[] { 1, 16, 16 }, 255L, dtype: ScalarType.Int64);
        labels[0, 5, TensorIndex.Slice(2, 12)] = tensor(1L);  // a 10-pixel scribble of class 1
        var terms = Criterion().Terms(new SegmentationOutput(logits, []), labels, zeros(1, 3, 16, 16));
        Assert.Equal(10, terms.ReadCounts()[0]);
        terms.Sums[0].backward();
        var scribbled = labels.ne(255).unsqueeze(1).expand(1, 3, 16, 16);
        Assert.Equal(0f, logits.grad!.masked_select(scribbled.logical_not()).abs().sum().item<float>());
        var expected = nn.functional.cross_entropy(logits, labels, ignore_index: 255);
        Assert.Equal(expected.item<float>(), Criterion(weight: 0, consistency: 0).Forward(new SegmentationOutput(logits, []), labels, zeros(1, 3, 16, 16)).item<float>(), 5);
    }

    [Fact]
    public void GradientReachesUnscribbledPixelsAndTheConsistencyHead()
    {
        using var scope = NewDisposeScope();
        using var model = TestData.ScribbleModel(seed: 1);
        var images = randn(2, 3, 32, 32);
        var output = model.forward(images);
        Assert.Equal(new long[] { 2, 8, 16, 16 }, output.Embedding!.shape);
        var labels = full(new long[] { 2, 32, 32 }, 255L, dtype: ScalarType.Int64);
        labels[.., 4, TensorIndex.Slice(4, 20)] = tensor(2L);
        var logits = output.Logits;
        logits.retain_grad();
        var terms = Criterion().Terms(output, labels, images);
        Assert.Equal(new double[] { 32, 2, 2 }, terms.ReadCounts());
        Assert.True(terms.Sums[1].item<float>() > 0 && terms.Sums[2].item<float>() > 0);
        SegmentationCriterion.Combine(terms, terms.ReadCounts()).backward();
        Assert.True(logits.grad![0, .., 20, 20].abs().sum().item<float>() > 0);  // an unscribbled pixel learns from R
        Assert.All(model.parameters(), p => Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, "a parameter got no gradient"));
    }

    /// <summary>The grid keeps square cells: one scale for both sides, capped so the grid holds at most max_grid_side² cells
    /// (a per-side clamp gave 16×32-pixel cells at 512×1024, and ignored the scale for any input over 64 pixels).</summary>
    [Fact]
    public void TheGridKeepsSquareCellsAndReportsTheScaleItUses()
    {
        var criterion = new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions(Scale: 0.5, MaxGridSide: 32));
        Assert.Equal([32L, 32L], criterion.Grid(64, 64));
        Assert.Equal([16L, 24L], criterion.Grid(32, 48));
        Assert.Equal([22L, 45L], criterion.Grid(512, 1024));                 // 990 cells, within 32² = 1024, square
        Assert.Equal(32 / Math.Sqrt(512 * 1024), criterion.EffectiveScale(512, 1024), 12);
        Assert.Equal(0.5, criterion.EffectiveScale(32, 48), 12);
    }

    /// <summary>A cell averaging two orthogonal unit embeddings is unit length again on the grid: its deep distance to a
    /// pure cell is ‖(1, 1)/√2 − (1, 0)‖² = 2 − √2, not the 0.5 of the shortened average.</summary>
    [Fact]
    public void EmbeddingsAreUnitLengthOnTheGrid()
    {
        using var scope = NewDisposeScope();
        var options = new ScribbleLossOptions(Scale: 0.5, SigmaFeature: 0.5);
        var criterion = new ScribbleRegularizedCriterion(new LossOptions(), options);
        var images = zeros(1, 3, 4, 4);
        var embedding = zeros(1, 2, 4, 4);
        embedding[0, 0] = ones(4, 4);                                       // (1, 0) everywhere …
        embedding[0, 0, TensorIndex.Slice(0, 2), 1] = zeros(2);            // … but (0, 1) in column 1 of cell (0, 0)
        embedding[0, 1, TensorIndex.Slice(0, 2), 1] = ones(2);

        var ratio = criterion.Kernel(images, embedding) / criterion.Kernel(images, null);  // exp(−½ ‖f_i − f_j‖² / σ_f²)
        var distance = ratio[0, 0, 1].log().item<float>() * -2 * options.SigmaFeature * options.SigmaFeature;
        Assert.Equal(2 - Math.Sqrt(2), distance, 4);
    }
}

/// <summary>The §5 schedule and label source: warm-up with partial CE, scribbles drawn from full masks.</summary>
public class ScribbleScheduleTests
{
    [Fact]
    public void RegulariserWeightIsZeroDuringTheWarmUpThenLambda()
    {
        using var scope = NewDisposeScope();
        var criterion = new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions(Weight: 3, RgbPerUnit: 59, WarmupSteps: 5));
        var output = new SegmentationOutput(randn(1, 3, 16, 16), []);
        var labels = zeros(1, 16, 16, dtype: ScalarType.Int64);
        criterion.Step = 4;
        Assert.Equal(0, criterion.Terms(output, labels, randn(1, 3, 16, 16)).Weights[1]);
        criterion.Step = 5;
        Assert.Equal(3, criterion.Terms(output, labels, randn(1, 3, 16, 16)).Weights[1]);
    }

    /// <summary>During the warm-up R is not computed (its N×N kernel product per image would be weighted by 0): its sum is a
    /// constant zero, while the consistency term, which has its own weight, is the same as after the warm-up.</summary>
    [Fact]
    public void TheWarmUpSkipsTheRegulariserButNotTheConsistency()
    {
        using var scope = NewDisposeScope();
        using var model = TestData.ScribbleModel(seed: 2);
        var criterion = new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions(Weight: 3, RgbPerUnit: 59, WarmupSteps: 5));
        var images = randn(1, 3, 32, 32);
        var output = model.forward(images);
        var labels = zeros(1, 32, 32, dtype: ScalarType.Int64);

        criterion.Step = 4;
        var warmUp = criterion.Terms(output, labels, images);
        criterion.Step = 5;
        var after = criterion.Terms(output, labels, images);

        Assert.Equal(0f, warmUp.Sums[1].item<float>());
        Assert.False(warmUp.Sums[1].requires_grad);
        Assert.True(after.Sums[1].item<float>() > 0);
        Assert.True(warmUp.Sums[2].item<float>() > 0);
        Assert.Equal(after.Sums[2].item<float>(), warmUp.Sums[2].item<float>());
    }
}
