using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Spectral;

/// <summary>
/// Chooses the label grid from the labels (PAPERS.md §2 "Efficient grid"). For every candidate factor
/// f ∈ {1, 2, 4, 8, 16, 32} dividing H and W it accumulates, batch by batch with bounded memory:
/// (a) the label energy kept below the coarse grid's Nyquist limit (<see cref="LabelSpectrum"/>);
/// (b) oracle mIoU of down-then-up ground truth, nearest (each cell's centre pixel, PAPERS.md §3's baseline, then each
/// pixel takes its cell's label) and soft (bilinear up of the
/// proportions, then argmax); where the coarse grid has no label (a nearest cell whose sampled pixel is ignore, or
/// no valid mass reaching a pixel) the oracle predicts nothing: a miss of the pixel's class, no class's false positive;
/// (c) CE of a fixed prediction at full resolution and on the coarse grid (prediction area-down-sampled,
/// hard CE against nearest labels, soft CE against soft labels). The fixed prediction is
/// 4 · (3×3 box blur of the one-hot labels): right inside objects, uncertain at boundaries.
/// <see cref="Advise"/> recommends the coarsest f with energy ≥ MinEnergy and soft-oracle mIoU drop ≤ the target.
/// </summary>
public sealed class GridAdvisor : IDisposable
{
    /// <summary>The fixed prediction's logit scale, 4 · blurred one-hot (held for the process, see KeptScalars).</summary>
    private static readonly Scalar PredictionScale = 4L.ToScalar();

    private readonly LabelSpectrum _spectrum;
    private readonly int[] _factors;
    private readonly ConfusionMatrix[] _nearest;
    private readonly ConfusionMatrix[] _soft;
    private readonly double[] _ceNearest;
    private readonly double[] _ceNearestCount;
    private readonly double[] _ceSoft;
    private readonly double[] _ceSoftMass;
    private double _ceFull;
    private double _ceFullCount;

    public GridAdvisor(int numClasses, int height, int width, GridAdvisorOptions? options = null)
    {
        Options = options ?? new GridAdvisorOptions();
        Options.Validate();
        NumClasses = numClasses;
        _spectrum = new LabelSpectrum(numClasses, height, width, Options.IgnoreIndex);
        _factors = GridAdvisorOptions.CandidateFactors.Where(f => height % f == 0 && width % f == 0).ToArray();
        _nearest = _factors.Select(_ => new ConfusionMatrix(numClasses, Options.IgnoreIndex)).ToArray();
        _soft = _factors.Select(_ => new ConfusionMatrix(numClasses, Options.IgnoreIndex)).ToArray();
        _ceNearest = new double[_factors.Length];
        _ceNearestCount = new double[_factors.Length];
        _ceSoft = new double[_factors.Length];
        _ceSoftMass = new double[_factors.Length];
    }

    public GridAdvisorOptions Options { get; }

    public int NumClasses { get; }

    /// <summary>The factors evaluated (candidates dividing both sides), ascending.</summary>
    public IReadOnlyList<int> Factors => _factors;

    /// <summary>The accumulated spectrum (owned by the advisor).</summary>
    public LabelSpectrum Spectrum => _spectrum;

    /// <summary>Adds a (B, H, W) label batch; computation runs on the labels' device.</summary>
    public void Add(Tensor labels)
    {
        _spectrum.Add(labels);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long h = labels.shape[1], w = labels.shape[2];
        using var ignore = Options.IgnoreIndex.ToScalar();  // held for the native calls (see KeptScalars)
        var labels64 = labels.to(ScalarType.Int64);
        var oneHot = LabelGrid.ClassFractions(labels64, NumClasses, 1, Options.IgnoreIndex);              // (B, K, H, W)
        var logits = nn.functional.avg_pool2d(oneHot, 3, 1, 1, count_include_pad: false).mul(PredictionScale);  // (B, K, H, W)
        _ceFull += nn.functional.cross_entropy(logits, labels64, ignore_index: Options.IgnoreIndex, reduction: nn.Reduction.Sum).item<float>();
        _ceFullCount += labels64.ne(ignore).sum().item<long>();

        var soft = new SoftLabelDownsampler(NumClasses, new SoftLabelOptions(Options.IgnoreIndex));
        for (int i = 0; i < _factors.Length; i++)
        {
            int f = _factors[i];
            var near = NearestLabelDownsampler.Downsample(labels64, f);                                       // (B, h, w)
            var nearUp = nn.functional.interpolate(near.unsqueeze(1).to(ScalarType.Float32), [h, w], mode: InterpolationMode.Nearest)
                .squeeze(1).to(ScalarType.Int64);                                                              // (B, H, W)
            _nearest[i].Add(nearUp, labels64, abstaining: true);

            var softDown = soft.Downsample(labels64, f);                                                      // (B, K, h, w)
            var softUp = f == 1 ? softDown
                : nn.functional.interpolate(softDown, [h, w], mode: InterpolationMode.Bilinear, align_corners: false);
            _soft[i].Add(softUp.argmax(1).masked_fill(softUp.sum(1).eq(KeptScalars.Zero), ignore), labels64, abstaining: true);

            var coarseLogits = f == 1 ? logits : nn.functional.avg_pool2d(logits, f, f);                      // (B, K, h, w)
            _ceNearest[i] += nn.functional.cross_entropy(coarseLogits, near, ignore_index: Options.IgnoreIndex, reduction: nn.Reduction.Sum).item<float>();
            _ceNearestCount[i] += near.ne(ignore).sum().item<long>();
            var (sum, mass) = SoftCrossEntropyLoss.Terms(coarseLogits, softDown);
            _ceSoft[i] += sum.item<float>();
            _ceSoftMass[i] += mass.item<double>();
        }
    }

    /// <summary>The per-factor figures and the recommended factor for the batches added so far.</summary>
    public GridAdvice Advise() => Statistics().Advise(Options);

    /// <summary>
    /// A snapshot of the sums behind <see cref="Advise"/>: statistics of disjoint parts of a dataset merge
    /// (<see cref="SpectralStatistics.Merge"/>) into those of the whole, so shards can be analysed apart.
    /// </summary>
    public SpectralStatistics Statistics()
    {
        int k = NumClasses, kk = k * k;
        var sums = SpectralStatistics.Empty(k, _spectrum.Height, _spectrum.Width, _factors, Options.Bands, Options.IgnoreIndex);
        sums.Images = _spectrum.Images;
        _spectrum.SpatialEnergy().CopyTo(sums.SpatialEnergy, 0);
        _spectrum.SpectralEnergy().CopyTo(sums.SpectralEnergy, 0);
        var bands = _spectrum.RadialBands(Options.Bands);
        Buffer.BlockCopy(bands, 0, sums.BandEnergy, 0, sizeof(double) * bands.Length);   // (K, Bands) row-major
        for (int i = 0; i < _factors.Length; i++)
        {
            _spectrum.KeptEnergy(_factors[i]).CopyTo(sums.RetainedEnergy, i * k);
            _nearest[i].Counts.CopyTo(sums.NearestConfusion, i * kk);
            _soft[i].Counts.CopyTo(sums.SoftConfusion, i * kk);
            _nearest[i].Unpredicted.CopyTo(sums.NearestUnpredicted, i * k);
            _soft[i].Unpredicted.CopyTo(sums.SoftUnpredicted, i * k);
            sums.CrossEntropyNearestSum[i] = _ceNearest[i];
            sums.CrossEntropyNearestPixels[i] = (long)_ceNearestCount[i];
            sums.CrossEntropySoftSum[i] = _ceSoft[i];
            sums.CrossEntropySoftMass[i] = _ceSoftMass[i];
        }
        sums.CrossEntropyFullSum = _ceFull;
        sums.CrossEntropyFullPixels = (long)_ceFullCount;
        return sums;
    }

    public void Dispose() => _spectrum.Dispose();
}
