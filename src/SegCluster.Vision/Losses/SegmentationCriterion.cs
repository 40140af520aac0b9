using SegCluster.Vision.Labels;
using SegCluster.Vision.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Losses;

/// <summary>
/// SPGNet's training loss (PAPERS.md §1 "Loss"): cross-entropy with an ignore index on the final
/// logits (weight <see cref="LossOptions.FinalWeight"/>, 1 by default) plus <see cref="LossOptions.AuxiliaryWeight"/> × CE for each auxiliary prediction.
/// The final term can move to a coarse label grid (nearest, block or soft labels, PAPERS.md §2/§3) through
/// <see cref="LossOptions.Labels"/>. An auxiliary term is computed at the auxiliary's own grid (h, w), not by
/// upsampling the prediction, from the same supervision as the final term (<see cref="AddAuxiliaryTerm"/>). Each term
/// is a mean over its valid (non-ignore) pixels; in data-parallel training the mean is over the GLOBAL valid pixels
/// (see <see cref="Terms"/> and <see cref="Combine"/>).
/// </summary>
public sealed class SegmentationCriterion : ISegmentationCriterion
{
    public SegmentationCriterion(LossOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    public LossOptions Options { get; }

    /// <summary>
    /// Local term sums and valid counts. Call inside the caller's dispose scope; the sums keep their
    /// autograd history. <paramref name="labels"/> is not modified.
    /// </summary>
    /// <param name="output">Model output: logits (B, K, H, W), auxiliaries (B, K, h, w).</param>
    /// <param name="labels">(B, H, W) int64 class ids, <see cref="LossOptions.IgnoreIndex"/> = ignore.</param>
    public LossTerms Terms(SegmentationOutput output, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(labels);
        var sums = new List<Tensor>(1 + output.Auxiliary.Count);
        var counts = new List<Tensor>(sums.Capacity);
        var weights = new List<double>(sums.Capacity);
        var grid = Options.Labels ?? new LabelOptions();
        int k = (int)output.Logits.shape[1];
        // Block runs are supervised by block labels only, the final term and every auxiliary alike (computed once). A file
        // dataset's training labels are already painted with the blocks of the un-augmented mask (PaintedBlocks): pooling
        // them again at b puts them on the grid, and every label it can see is a block label, whatever crop and scale moved them.
        var blocks = grid.Mode == LabelMode.Block ? new BlockAnnotator(k, grid.Factor, grid.BlockMinPurity, Options.IgnoreIndex).Labels(labels) : null;
        AddFinalTerm(output.Logits, labels, blocks, sums, counts, weights);
        foreach (var aux in output.Auxiliary) AddAuxiliaryTerm(aux, labels, blocks, sums, counts, weights);
        return new LossTerms(sums, counts, weights);
    }

    /// <inheritdoc/>
    LossTerms ISegmentationCriterion.Terms(SegmentationOutput output, Tensor labels, Tensor images, Tensor? content) => Terms(output, labels);

    /// <summary>loss = Σ_t w_t · Sums[t] / counts[t] with the given (usually global) counts (<see cref="Denominator"/>).</summary>
    public static Tensor Combine(LossTerms terms, IReadOnlyList<double> validCounts)
    {
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentNullException.ThrowIfNull(validCounts);
        if (validCounts.Count != terms.Count)
            throw new ArgumentException($"expected {terms.Count} counts, got {validCounts.Count}", nameof(validCounts));
        Tensor? loss = null;
        for (int t = 0; t < terms.Count; t++)
        {
            // A term with no valid pixel anywhere contributes zero (its sum is zero too). The factor's Scalar is
            // held until the native call returns (a temporary one can be finalized mid-call, see Models.Layers.Add).
            using var factor = (terms.Weights[t] / Denominator(validCounts[t])).ToScalar();
            var term = terms.Sums[t].mul(factor);
            loss = loss is null ? term : Layers.Add(loss, term);
        }
        return loss!;
    }

    /// <summary>What a term's sum is divided by: its count, or 1 when it has none (its sum is zero too). Not max(1, count):
    /// a soft mass below 1 (one partly ignored cell) is divided by as it is, as the authors' loss divides by targets.sum().</summary>
    public static double Denominator(double validCount) => validCount > 0 ? validCount : 1;

    /// <summary>Single-process loss: the terms normalised by their local counts.</summary>
    public Tensor Forward(SegmentationOutput output, Tensor labels) => LocalLoss(this, output, labels, images: labels);  // images are unused by this criterion

    /// <summary>Single-process loss of any criterion: its terms normalised by their local counts.</summary>
    public static Tensor LocalLoss(ISegmentationCriterion criterion, SegmentationOutput output, Tensor labels, Tensor images)
    {
        ArgumentNullException.ThrowIfNull(criterion);
        using var scope = NewDisposeScope();
        var terms = criterion.Terms(output, labels, images);
        return Combine(terms, terms.ReadCounts()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The final term on the label grid of <see cref="LossOptions.Labels"/> (PAPERS.md §2, §3): labels
    /// down-sampled by f, logits area-down-sampled to the same grid (the image-like filter), hard CE for
    /// nearest/majority/block labels, soft CE or KL normalised by the soft mass for soft labels. The soft mass Σ Ỹ (each
    /// cell's valid share, or 1 per valid cell with <see cref="LabelOptions.Renormalize"/>) serves as the term's count.
    /// </summary>
    private void AddFinalTerm(Tensor logits, Tensor labels, Tensor? blocks, List<Tensor> sums, List<Tensor> counts, List<double> weights)
    {
        var grid = Options.Labels ?? new LabelOptions();
        int f = grid.Factor;
        var coarseLogits = LogitsOnGrid(logits, labels, f);  // (B, K, H/f, W/f)
        if (grid.Mode is LabelMode.Full or LabelMode.Scribble)
        {
            AddTerm(coarseLogits, labels, Options.FinalWeight, sums, counts, weights);
            return;
        }
        switch (grid.Mode)
        {
            case LabelMode.Nearest:
                AddTerm(coarseLogits, NearestLabelDownsampler.Downsample(labels, f), Options.FinalWeight, sums, counts, weights);
                break;
            case LabelMode.Majority:
                AddTerm(coarseLogits, MajorityLabelDownsampler.Downsample(labels, (int)logits.shape[1], f, Options.IgnoreIndex), Options.FinalWeight, sums, counts, weights);
                break;
            case LabelMode.Block:
                AddTerm(coarseLogits, blocks!, Options.FinalWeight, sums, counts, weights);
                break;
            default:
                AddSoftTerm(coarseLogits, labels, f, Options.FinalWeight, sums, counts, weights);
                break;
        }
    }

    /// <summary>
    /// The term of an auxiliary at grid (h, w) = (H/s, W/s), from the supervision the final term has (PAPERS.md §1 with
    /// §2, §3, §5): block runs take their block labels resampled to the grid (nearest: the auxiliary sees no pixel label a
    /// block annotation would not give); soft runs soft labels at factor s (§3: nearest labels are the misaligned baseline);
    /// majority runs mode-pooled labels at factor s; scribble runs the majority of each cell's stroke pixels (nearest
    /// sampling keeps a stroke pixel only when its row and column are ones it samples: 1/s² of them). Full and nearest runs, and grids that are not an integer factor of the
    /// labels, take nearest labels (the centre pixel of each cell, ⌊(i + 0.5)·H/h⌋: PyTorch "nearest-exact", the pixel the
    /// cell's prediction is centred on).
    /// </summary>
    private void AddAuxiliaryTerm(Tensor aux, Tensor labels, Tensor? blocks, List<Tensor> sums, List<Tensor> counts, List<double> weights)
    {
        long h = aux.shape[2], w = aux.shape[3], height = labels.shape[1], width = labels.shape[2];
        int s = height % h == 0 && width % w == 0 && height / h == width / w ? (int)(height / h) : 0;
        var mode = (Options.Labels ?? new LabelOptions()).Mode;
        var weight = Options.AuxiliaryWeight;
        if (mode == LabelMode.Block)
            AddTerm(aux, NearestLabelDownsampler.Resize(blocks!, h, w), weight, sums, counts, weights);
        else if (s > 0 && mode is LabelMode.SoftCrossEntropy or LabelMode.SoftKl)
            AddSoftTerm(aux, labels, s, weight, sums, counts, weights);
        else if (s > 0 && mode is LabelMode.Scribble or LabelMode.Majority)
            AddTerm(aux, MajorityLabelDownsampler.Downsample(labels, (int)aux.shape[1], s, Options.IgnoreIndex), weight, sums, counts, weights);
        else
            AddTerm(aux, NearestLabelDownsampler.Resize(labels, h, w), weight, sums, counts, weights);
    }

    /// <summary>Soft CE or KL (the run's soft mode) of <paramref name="logits"/> against soft labels at factor
    /// <paramref name="factor"/>, normalised by the soft mass Σ Ỹ (PAPERS.md §3; the authors' loss divides by
    /// targets.sum()). The mass is carried as it is: fractional when cells are partly ignore, never rounded.</summary>
    private void AddSoftTerm(Tensor logits, Tensor labels, int factor, double weight, List<Tensor> sums, List<Tensor> counts, List<double> weights)
    {
        var grid = Options.Labels ?? new LabelOptions();
        var soft = new SoftLabelDownsampler((int)logits.shape[1], new SoftLabelOptions(Options.IgnoreIndex, Renormalize: grid.Renormalize))
            .Downsample(labels, factor);  // (B, K, H/f, W/f)
        var (sum, mass) = grid.Mode == LabelMode.SoftKl
            ? SoftKlLoss.Terms(logits, soft)
            : SoftCrossEntropyLoss.Terms(logits, soft);
        sums.Add(sum);
        counts.Add(mass);
        weights.Add(weight);
    }

    /// <summary>
    /// The logits on the label grid (H/f, W/f): as they are when the model already emits that grid
    /// (<see cref="ModelOptions.LogitFactor"/> = f in training), area-down-sampled when they are at (H, W).
    /// </summary>
    private static Tensor LogitsOnGrid(Tensor logits, Tensor labels, int f)
    {
        long height = labels.shape[1], width = labels.shape[2];
        if (height % f != 0 || width % f != 0)
            throw new ArgumentException($"LabelOptions.Factor = {f} does not divide the labels' size {height}x{width}.", nameof(labels));
        long h = logits.shape[2], w = logits.shape[3];
        if (h == height / f && w == width / f) return logits;
        if (h == height && w == width) return nn.functional.avg_pool2d(logits, f, f);
        throw new ArgumentException(
            $"logits of size {h}x{w} fit neither the labels ({height}x{width}) nor their grid at LabelOptions.Factor = {f} ({height / f}x{width / f}); " +
            $"build the model with ModelOptions.LogitFactor = {f} (or 1).", nameof(logits));
    }

    private void AddTerm(Tensor logits, Tensor labels, double weight, List<Tensor> sums, List<Tensor> counts, List<double> weights)
    {
        sums.Add(nn.functional.cross_entropy(logits, labels, ignore_index: Options.IgnoreIndex, reduction: nn.Reduction.Sum));
        using var ignore = Options.IgnoreIndex.ToScalar();  // held for the native call (see KeptScalars)
        using var valid = labels.ne(ignore);
        counts.Add(valid.sum(ScalarType.Float64));  // exact, and read with the other terms' (LossTerms.Read)
        weights.Add(weight);
    }
}
