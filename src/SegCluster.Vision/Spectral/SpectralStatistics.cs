using System.Text.Json;
using SegCluster.Vision.Metrics;

namespace SegCluster.Vision.Spectral;

/// <summary>
/// The sufficient statistics of the label-grid advisor (PAPERS.md §2 "Efficient grid") as plain sums, so the
/// statistics of disjoint parts of a dataset add up to those of the whole: per-class energies (spatial, spectral,
/// per radial band, kept below each factor's Nyquist limit), oracle confusion counts per factor × label mode
/// (nearest, soft), and CE sums with their pixel counts or soft masses. <see cref="Merge"/> is exact for the counts
/// and exact up to floating-point summation order for the energies and CE sums. No tensors: it travels as JSON.
/// </summary>
public sealed class SpectralStatistics
{
    private static readonly JsonSerializerOptions Json = new() { IncludeFields = false };

    public int NumClasses { get; init; }
    public int Height { get; init; }
    public int Width { get; init; }
    public int Bands { get; init; }
    public int IgnoreIndex { get; init; }
    /// <summary>The factors evaluated, ascending (F).</summary>
    public int[] Factors { get; init; } = [];
    public long Images { get; set; }
    /// <summary>(K) Σ Y_k² over images and pixels (valid pixels of class k).</summary>
    public double[] SpatialEnergy { get; init; } = [];
    /// <summary>(K) Σ |Ŷ_k|² over images and frequencies; equals <see cref="SpatialEnergy"/> by Parseval.</summary>
    public double[] SpectralEnergy { get; init; } = [];
    /// <summary>(K·Bands) row-major: energy of class k in radial band b.</summary>
    public double[] BandEnergy { get; init; } = [];
    /// <summary>(F·K) row-major: energy of class k strictly below factor f's Nyquist limit.</summary>
    public double[] RetainedEnergy { get; init; } = [];
    /// <summary>(F·K·K) confusion counts of nearest-down-then-nearest-up labels against the labels.</summary>
    public long[] NearestConfusion { get; init; } = [];
    /// <summary>(F·K·K) confusion counts of soft-down, bilinear-up, argmax labels against the labels.</summary>
    public long[] SoftConfusion { get; init; } = [];
    /// <summary>(F·K) pixels of class k whose nearest oracle has no label (the cell's sampled pixel is ignore): misses of k.</summary>
    public long[] NearestUnpredicted { get; init; } = [];
    /// <summary>(F·K) pixels of class k whose soft oracle has no label (no valid mass reaches them): misses of k.</summary>
    public long[] SoftUnpredicted { get; init; } = [];
    public double CrossEntropyFullSum { get; set; }
    public long CrossEntropyFullPixels { get; set; }
    /// <summary>(F) CE sums of the coarse prediction against nearest labels, and their valid coarse pixels.</summary>
    public double[] CrossEntropyNearestSum { get; init; } = [];
    public long[] CrossEntropyNearestPixels { get; init; } = [];
    /// <summary>(F) soft CE sums against soft labels, and their valid label mass.</summary>
    public double[] CrossEntropySoftSum { get; init; } = [];
    public double[] CrossEntropySoftMass { get; init; } = [];

    /// <summary>Zero statistics of the given shape.</summary>
    public static SpectralStatistics Empty(int numClasses, int height, int width, IReadOnlyList<int> factors, int bands, int ignoreIndex)
    {
        int k = numClasses, f = factors.Count;
        return new SpectralStatistics
        {
            NumClasses = k, Height = height, Width = width, Bands = bands, IgnoreIndex = ignoreIndex, Factors = [.. factors],
            SpatialEnergy = new double[k], SpectralEnergy = new double[k], BandEnergy = new double[k * bands],
            RetainedEnergy = new double[f * k], NearestConfusion = new long[f * k * k], SoftConfusion = new long[f * k * k],
            NearestUnpredicted = new long[f * k], SoftUnpredicted = new long[f * k],
            CrossEntropyNearestSum = new double[f], CrossEntropyNearestPixels = new long[f],
            CrossEntropySoftSum = new double[f], CrossEntropySoftMass = new double[f],
        };
    }

    /// <summary>Adds <paramref name="other"/> (statistics of a disjoint part of the same dataset) into this.</summary>
    /// <exception cref="ArgumentException">The shapes differ (classes, size, factors, bands, ignore index).</exception>
    public void Merge(SpectralStatistics other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.NumClasses != NumClasses || other.Height != Height || other.Width != Width || other.Bands != Bands
            || other.IgnoreIndex != IgnoreIndex || !other.Factors.SequenceEqual(Factors))
            throw new ArgumentException(
                $"cannot merge spectral statistics of {other.NumClasses} classes {other.Height}x{other.Width} factors [{string.Join(", ", other.Factors)}] bands {other.Bands} " +
                $"into {NumClasses} classes {Height}x{Width} factors [{string.Join(", ", Factors)}] bands {Bands}", nameof(other));
        Images += other.Images;
        Add(SpatialEnergy, other.SpatialEnergy);
        Add(SpectralEnergy, other.SpectralEnergy);
        Add(BandEnergy, other.BandEnergy);
        Add(RetainedEnergy, other.RetainedEnergy);
        Add(NearestConfusion, other.NearestConfusion);
        Add(SoftConfusion, other.SoftConfusion);
        Add(NearestUnpredicted, other.NearestUnpredicted);
        Add(SoftUnpredicted, other.SoftUnpredicted);
        CrossEntropyFullSum += other.CrossEntropyFullSum;
        CrossEntropyFullPixels += other.CrossEntropyFullPixels;
        Add(CrossEntropyNearestSum, other.CrossEntropyNearestSum);
        Add(CrossEntropyNearestPixels, other.CrossEntropyNearestPixels);
        Add(CrossEntropySoftSum, other.CrossEntropySoftSum);
        Add(CrossEntropySoftMass, other.CrossEntropySoftMass);
    }

    /// <summary>The sum of <paramref name="parts"/> (at least one), in the given order.</summary>
    public static SpectralStatistics Sum(IEnumerable<SpectralStatistics> parts)
    {
        SpectralStatistics? total = null;
        foreach (var part in parts)
        {
            if (total is null) total = FromJson(part.ToJson());  // a copy: the parts stay as they are
            else total.Merge(part);
        }
        return total ?? throw new ArgumentException("nothing to sum: no statistics given", nameof(parts));
    }

    /// <summary>The oracle confusion matrix of factor index <paramref name="factorIndex"/>, nearest or soft.</summary>
    public ConfusionMatrix Confusion(int factorIndex, bool soft)
    {
        var matrix = new ConfusionMatrix(NumClasses, IgnoreIndex);
        int kk = NumClasses * NumClasses;
        Array.Copy(soft ? SoftConfusion : NearestConfusion, factorIndex * kk, matrix.Counts, 0, kk);
        Array.Copy(soft ? SoftUnpredicted : NearestUnpredicted, factorIndex * NumClasses, matrix.Unpredicted, 0, NumClasses);
        return matrix;
    }

    /// <summary>The advisor's figures and recommendation (see <see cref="GridAdvisor"/>) from these sums.</summary>
    public GridAdvice Advise(GridAdvisorOptions options)
    {
        options.Validate();
        int k = NumClasses;
        var reports = new List<GridFactorReport>(Factors.Length);
        var classRetained = new List<double[]>(Factors.Length);
        double ceFull = CrossEntropyFullSum / Math.Max(1, CrossEntropyFullPixels);
        double total = SpectralEnergy.Sum();
        for (int i = 0; i < Factors.Length; i++)
        {
            int f = Factors[i];
            var kept = RetainedEnergy.AsSpan(i * k, k).ToArray();
            classRetained.Add(kept.Select((e, c) => SpectralEnergy[c] > 0 ? e / SpectralEnergy[c] : 1).ToArray());
            reports.Add(new GridFactorReport(
                f, Height / f, Width / f, total > 0 ? kept.Sum() / total : 1,
                Confusion(i, soft: false).MeanIoU(), Confusion(i, soft: true).MeanIoU(),
                ceFull, CrossEntropyNearestSum[i] / Math.Max(1, CrossEntropyNearestPixels[i]),
                CrossEntropySoftSum[i] / Math.Max(1e-12, CrossEntropySoftMass[i])));
        }
        double baseline = reports[0].OracleMIoUSoft;
        int recommended = reports
            .Where(r => r.EnergyRetained >= options.MinEnergy && baseline - r.OracleMIoUSoft <= options.MaxOracleMIoUDrop)
            .Select(r => r.Factor).DefaultIfEmpty(1).Max();
        return new GridAdvice(reports, recommended, Images, ParsevalRelativeError(), classRetained, CumulativeEnergy(), DatasetCumulativeEnergy());
    }

    /// <summary>max_k |spectral − spatial| / max(1, spatial): ~1e-12 when the transform is right.</summary>
    public double ParsevalRelativeError() =>
        SpectralEnergy.Zip(SpatialEnergy, (s, y) => Math.Abs(s - y) / Math.Max(1, y)).DefaultIfEmpty(0).Max();

    /// <summary>Per class, the cumulative share of its energy up to and including each radial band.</summary>
    public double[][] CumulativeEnergy() =>
        Enumerable.Range(0, NumClasses).Select(c =>
        {
            double running = 0;
            return Enumerable.Range(0, Bands).Select(b =>
            {
                running += BandEnergy[c * Bands + b];
                return SpectralEnergy[c] > 0 ? running / SpectralEnergy[c] : 1;
            }).ToArray();
        }).ToArray();

    /// <summary>The cumulative share of the whole label energy (every class) up to and including each radial band: the
    /// energy-weighted mean of the class curves.</summary>
    public double[] DatasetCumulativeEnergy()
    {
        double total = SpectralEnergy.Sum(), running = 0;
        return Enumerable.Range(0, Bands).Select(b =>
        {
            for (int c = 0; c < NumClasses; c++) running += BandEnergy[c * Bands + b];
            return total > 0 ? running / total : 1;
        }).ToArray();
    }

    /// <summary>
    /// Where this differs from <paramref name="other"/>: shapes, image and pixel counts and confusion counts must be
    /// equal exactly, energies and CE sums within <paramref name="relativeTolerance"/> (summation order differs between
    /// a merged and a single-process analysis). Empty when they agree; used to check merges (tests, bench).
    /// </summary>
    public IReadOnlyList<string> Differences(SpectralStatistics other, double relativeTolerance)
    {
        var found = new List<string>();
        if (other.NumClasses != NumClasses || other.Height != Height || other.Width != Width || other.Bands != Bands || !other.Factors.SequenceEqual(Factors))
            return [$"shape: {NumClasses} classes {Height}x{Width} bands {Bands} vs {other.NumClasses} classes {other.Height}x{other.Width} bands {other.Bands}"];
        void Exact(string name, long[] a, long[] b)
        {
            var i = Enumerable.Range(0, a.Length).FirstOrDefault(j => a[j] != b[j], -1);
            if (i >= 0) found.Add($"{name}[{i}]: {a[i]} vs {b[i]}");
        }
        void Close(string name, double[] a, double[] b)
        {
            var i = Enumerable.Range(0, a.Length).FirstOrDefault(j => Math.Abs(a[j] - b[j]) > relativeTolerance * Math.Max(1, Math.Max(Math.Abs(a[j]), Math.Abs(b[j]))), -1);
            if (i >= 0) found.Add($"{name}[{i}]: {a[i]:R} vs {b[i]:R}");
        }
        Exact(nameof(Images), [Images, CrossEntropyFullPixels], [other.Images, other.CrossEntropyFullPixels]);
        Exact(nameof(NearestConfusion), NearestConfusion, other.NearestConfusion);
        Exact(nameof(SoftConfusion), SoftConfusion, other.SoftConfusion);
        Exact(nameof(NearestUnpredicted), NearestUnpredicted, other.NearestUnpredicted);
        Exact(nameof(SoftUnpredicted), SoftUnpredicted, other.SoftUnpredicted);
        Exact(nameof(CrossEntropyNearestPixels), CrossEntropyNearestPixels, other.CrossEntropyNearestPixels);
        Close(nameof(SpatialEnergy), SpatialEnergy, other.SpatialEnergy);
        Close(nameof(SpectralEnergy), SpectralEnergy, other.SpectralEnergy);
        Close(nameof(BandEnergy), BandEnergy, other.BandEnergy);
        Close(nameof(RetainedEnergy), RetainedEnergy, other.RetainedEnergy);
        Close("CrossEntropy", [CrossEntropyFullSum, .. CrossEntropyNearestSum, .. CrossEntropySoftSum, .. CrossEntropySoftMass],
            [other.CrossEntropyFullSum, .. other.CrossEntropyNearestSum, .. other.CrossEntropySoftSum, .. other.CrossEntropySoftMass]);
        return found;
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <exception cref="ArgumentException">The text is not spectral statistics.</exception>
    public static SpectralStatistics FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<SpectralStatistics>(json, Json) ?? throw new ArgumentException("spectral statistics JSON is null", nameof(json));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"spectral statistics JSON is invalid: {e.Message}", nameof(json), e);
        }
    }

    private static void Add(double[] into, double[] values)
    {
        for (int i = 0; i < into.Length; i++) into[i] += values[i];
    }

    private static void Add(long[] into, long[] values)
    {
        for (int i = 0; i < into.Length; i++) into[i] += values[i];
    }
}
