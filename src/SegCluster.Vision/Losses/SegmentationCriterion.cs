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
        var builder = new TermsBuilder(Options, labels, (int)output.Logits.shape[1]);
        builder.AddFinal(output.Logits);
        foreach (var aux in output.Auxiliary) builder.AddAuxiliary(aux);
        return builder.Build();
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

    /// <summary>The terms of one call: the lists <see cref="LossTerms"/> is made of, and the run's coarse labels (soft or
    /// majority) per factor, so a final term and an auxiliary on the same grid (SPGNet's decoder stops at stride ≤ f) share
    /// one down-sampling and its label-range check.</summary>
    private sealed class TermsBuilder(LossOptions options, Tensor labels, int numClasses)
    {
        private readonly LabelOptions _grid = options.Labels ?? new LabelOptions();
        private readonly List<Tensor> _sums = [], _counts = [];
        private readonly List<double> _weights = [];
        private readonly Dictionary<int, Tensor> _coarse = [];
        private Tensor? _blocks;

        public LossTerms Build() => new(_sums, _counts, _weights);

        /// <summary>
        /// The final term on the label grid of <see cref="LossOptions.Labels"/> (PAPERS.md §2, §3): labels
        /// down-sampled by f, logits area-down-sampled to the same grid (the image-like filter), hard CE for
        /// nearest/majority/block labels, soft CE or KL normalised by the soft mass for soft labels. The soft mass Σ Ỹ (each
        /// cell's valid share, or 1 per valid cell with <see cref="LabelOptions.Renormalize"/>) serves as the term's count.
        /// </summary>
        public void AddFinal(Tensor logits)
        {
            int f = _grid.Factor;
            var coarseLogits = LogitsOnGrid(logits, labels, f);  // (B, K, H/f, W/f)
            var weight = options.FinalWeight;
            switch (_grid.Mode)
            {
                case LabelMode.Full or LabelMode.Scribble: AddHard(coarseLogits, labels, weight); break;
                case LabelMode.Nearest: AddHard(coarseLogits, NearestLabelDownsampler.Downsample(labels, f), weight); break;
                case LabelMode.Majority: AddHard(coarseLogits, Coarse(f), weight); break;
                case LabelMode.Block: AddHard(coarseLogits, Blocks(), weight); break;
                default: AddSoft(coarseLogits, Coarse(f), weight); break;
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
        public void AddAuxiliary(Tensor aux)
        {
            long h = aux.shape[2], w = aux.shape[3], height = labels.shape[1], width = labels.shape[2];
            int s = height % h == 0 && width % w == 0 && height / h == width / w ? (int)(height / h) : 0;
            var weight = options.AuxiliaryWeight;
            if (_grid.Mode == LabelMode.Block)
                AddHard(aux, NearestLabelDownsampler.Resize(Blocks(), h, w), weight);
            else if (s > 0 && _grid.Mode is LabelMode.SoftCrossEntropy or LabelMode.SoftKl)
                AddSoft(aux, Coarse(s), weight);
            else if (s > 0 && _grid.Mode is LabelMode.Scribble or LabelMode.Majority)
                AddHard(aux, Coarse(s), weight);
            else
                AddHard(aux, NearestLabelDownsampler.Resize(labels, h, w), weight);
        }

        /// <summary>Block runs are supervised by block labels only, the final term and every auxiliary alike (computed once). A
        /// file dataset's training labels are already painted with the blocks of the un-augmented mask (PaintedBlocks): pooling
        /// them again at b puts them on the grid, and every label it can see is a block label, whatever crop and scale moved them.</summary>
        private Tensor Blocks() =>
            _blocks ??= new BlockAnnotator(numClasses, _grid.Factor, _grid.BlockMinPurity, options.IgnoreIndex).Labels(labels);

        /// <summary>The run's coarse labels at <paramref name="factor"/>: soft labels (B, K, H/f, W/f) in the soft modes,
        /// mode-pooled class ids (B, H/f, W/f) in the majority and scribble modes.</summary>
        private Tensor Coarse(int factor)
        {
            if (_coarse.TryGetValue(factor, out var known)) return known;
            var coarse = _grid.Mode is LabelMode.SoftCrossEntropy or LabelMode.SoftKl
                ? new SoftLabelDownsampler(numClasses, new SoftLabelOptions(options.IgnoreIndex, Renormalize: _grid.Renormalize)).Downsample(labels, factor)
                : MajorityLabelDownsampler.Downsample(labels, numClasses, factor, options.IgnoreIndex);
            _coarse[factor] = coarse;
            return coarse;
        }

        /// <summary>Soft CE or KL (the run's soft mode) of <paramref name="logits"/> against <paramref name="soft"/> labels,
        /// normalised by the soft mass Σ Ỹ (PAPERS.md §3; the authors' loss divides by targets.sum()). The mass is carried as
        /// it is: fractional when cells are partly ignore, never rounded.</summary>
        private void AddSoft(Tensor logits, Tensor soft, double weight)
        {
            var (sum, mass) = _grid.Mode == LabelMode.SoftKl ? SoftKlLoss.Terms(logits, soft) : SoftCrossEntropyLoss.Terms(logits, soft);
            Add(sum, mass, weight);
        }

        private void AddHard(Tensor logits, Tensor target, double weight)
        {
            var sum = nn.functional.cross_entropy(logits, target, ignore_index: options.IgnoreIndex, reduction: nn.Reduction.Sum);
            using var ignore = options.IgnoreIndex.ToScalar();  // held for the native call (see KeptScalars)
            using var valid = target.ne(ignore);
            Add(sum, valid.sum(ScalarType.Float64), weight);  // exact, and read with the other terms' (LossTerms.Read)
        }

        private void Add(Tensor sum, Tensor count, double weight)
        {
            _sums.Add(sum);
            _counts.Add(count);
            _weights.Add(weight);
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
    }
}
