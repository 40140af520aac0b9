using SegCluster.Vision.Labels;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Spectral;

/// <summary>
/// Label spectrum of a dataset (PAPERS.md §2 "Label spectrum"): for each class k the 2D DFT Ŷ_k of its
/// one-hot map Y_k (orthonormal, so Parseval reads Σ|Ŷ_k|² = Σ|Y_k|²), and the energy |Ŷ_k(u, v)|² summed
/// over the images added so far. Streaming: memory is one (K, H, W) float64 energy map however many
/// batches are added. Ignore pixels have zero mass in every class. Not thread-safe.
/// </summary>
public sealed class LabelSpectrum : IDisposable
{
    private readonly Tensor _energy;     // (K, H, W) float64, Σ over images of |Ŷ_k|²
    private readonly double[] _spatial;  // Σ over images and pixels of Y_k² (= valid pixels of class k)

    public LabelSpectrum(int numClasses, int height, int width, int ignoreIndex = 255)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be >= 1");
        if (height < 1 || width < 1) throw new ArgumentException($"size {height}x{width} must be positive", nameof(height));
        NumClasses = numClasses;
        Height = height;
        Width = width;
        IgnoreIndex = ignoreIndex;
        _energy = zeros([numClasses, height, width], ScalarType.Float64);
        _spatial = new double[numClasses];
    }

    public int NumClasses { get; }

    public int Height { get; }

    public int Width { get; }

    public int IgnoreIndex { get; }

    /// <summary>Images added.</summary>
    public long Images { get; private set; }

    /// <summary>Adds a (B, H, W) batch of labels (any device; the sums live on the CPU).</summary>
    public void Add(Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.dim() != 3 || labels.shape[1] != Height || labels.shape[2] != Width)
            throw new ArgumentException($"labels must be (B, {Height}, {Width}), got ({string.Join(", ", labels.shape)})", nameof(labels));
        using var scope = NewDisposeScope();
        var oneHot = LabelGrid.ClassFractions(labels, NumClasses, 1, IgnoreIndex).to(ScalarType.Float64); // (B, K, H, W)
        var spectrum = fft.fft2(oneHot, norm: FFTNormType.Ortho);                                                    // (B, K, H, W) complex
        var energy = spectrum.abs().pow(KeptScalars.Two).sum([0]).cpu();   // (K, H, W); sum(0) would bind to sum(ScalarType)
        _energy.add_(energy, KeptScalars.One);
        var spatial = oneHot.pow(KeptScalars.Two).sum([0, 2, 3]).cpu().data<double>().ToArray();                      // (K)
        for (int k = 0; k < NumClasses; k++) _spatial[k] += spatial[k];
        Images += labels.shape[0];
    }

    /// <summary>Total spectral energy Σ_{u,v} |Ŷ_k|² of each class.</summary>
    public double[] SpectralEnergy()
    {
        using var sum = _energy.sum([1, 2]);
        return sum.data<double>().ToArray();
    }

    /// <summary>Total spatial energy Σ Y_k² of each class; equal to <see cref="SpectralEnergy"/> by Parseval.</summary>
    public double[] SpatialEnergy() => (double[])_spatial.Clone();

    /// <summary>max_k |spectral − spatial| / max(1, spatial): ~1e-12 when the transform is right.</summary>
    public double ParsevalRelativeError() =>
        SpectralEnergy().Zip(_spatial, (s, y) => Math.Abs(s - y) / Math.Max(1, y)).DefaultIfEmpty(0).Max();

    /// <summary>Energy at frequency (u, v) of class k (u, v in DFT index order, 0 = DC).</summary>
    public double EnergyAt(int k, int u, int v) => _energy[k, u, v].item<double>();

    /// <summary>
    /// Share of each class's energy (and of all classes', last entry) kept by a grid down-sampled by
    /// <paramref name="factor"/>: frequencies with |u| &lt; H/(2f) and |v| &lt; W/(2f) cycles per image,
    /// i.e. strictly below the coarse grid's Nyquist limit. Factor 1 keeps everything.
    /// </summary>
    public double[] RetainedEnergy(int factor)
    {
        var kept = KeptEnergy(factor);
        var total = SpectralEnergy();
        var result = new double[NumClasses + 1];
        for (int k = 0; k < NumClasses; k++) result[k] = total[k] > 0 ? kept[k] / total[k] : 1;
        result[NumClasses] = total.Sum() > 0 ? kept.Sum() / total.Sum() : 1;
        return result;
    }

    /// <summary>Per class, the energy (not the share) <see cref="RetainedEnergy"/> keeps: a sum, so parts of a dataset add up.</summary>
    public double[] KeptEnergy(int factor)
    {
        if (factor < 1) throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be >= 1");
        using var scope = NewDisposeScope();
        Tensor mask;
        if (factor == 1)
            mask = ones([Height, Width], ScalarType.Float64);
        else
        {
            // Scalars held for the native calls (see KeptScalars).
            using Scalar height = Height, width = Width, nyquistU = Height / (2.0 * factor), nyquistV = Width / (2.0 * factor);
            var fu = fft.fftfreq(Height, dtype: ScalarType.Float64).abs().mul(height);  // (H) |cycles per image|
            var fv = fft.fftfreq(Width, dtype: ScalarType.Float64).abs().mul(width);    // (W)
            mask = fu.lt(nyquistU).unsqueeze(1).logical_and(fv.lt(nyquistV).unsqueeze(0))
                .to(ScalarType.Float64);                                                // (H, W)
        }
        return (_energy * mask).sum([1, 2]).data<double>().ToArray();
    }

    /// <summary>
    /// Energy in <paramref name="bands"/> equal-width radial bands of the normalised frequency
    /// r = √((u/H)² + (v/W)²) ∈ [0, √½] cycles per pixel: (K, bands) row-major, per class.
    /// </summary>
    public double[,] RadialBands(int bands)
    {
        if (bands < 1) throw new ArgumentOutOfRangeException(nameof(bands), bands, "bands must be >= 1");
        using var scope = NewDisposeScope();
        var radius = RadialIndex(bands);                                   // (H·W) int64 band id
        var flat = _energy.reshape(NumClasses, -1);                        // (K, H·W)
        var sums = zeros([NumClasses, bands], ScalarType.Float64).index_add_(1, radius, flat, KeptScalars.One);
        var values = sums.data<double>().ToArray();
        var result = new double[NumClasses, bands];
        for (int k = 0; k < NumClasses; k++)
            for (int b = 0; b < bands; b++) result[k, b] = values[k * bands + b];
        return result;
    }

    /// <summary>Cumulative share of each class's energy up to and including each radial band: (K, bands).</summary>
    public double[,] CumulativeEnergy(int bands)
    {
        var radial = RadialBands(bands);
        var total = SpectralEnergy();
        var result = new double[NumClasses, bands];
        for (int k = 0; k < NumClasses; k++)
        {
            double running = 0;
            for (int b = 0; b < bands; b++)
            {
                running += radial[k, b];
                result[k, b] = total[k] > 0 ? running / total[k] : 1;
            }
        }
        return result;
    }

    public void Dispose() => _energy.Dispose();

    private Tensor RadialIndex(int bands)
    {
        var fu = fft.fftfreq(Height, dtype: ScalarType.Float64).unsqueeze(1);   // (H, 1) cycles per pixel
        var fv = fft.fftfreq(Width, dtype: ScalarType.Float64).unsqueeze(0);    // (1, W)
        // Scalars held for the native calls (see KeptScalars).
        using Scalar largest = Math.Sqrt(0.5), count = bands, lastBand = bands - 1;
        var r = fu.pow(KeptScalars.Two).add(fv.pow(KeptScalars.Two), KeptScalars.One).sqrt().div(largest);   // (H, W) in [0, 1]
        return r.mul(count).floor().clamp(KeptScalars.Zero, lastBand).to(ScalarType.Int64).flatten();
    }
}
