namespace SegCluster.Cluster.Sweeps;

/// <summary>Mean of the last <c>window</c> values: smooths per-step training loss before ASHA compares trials. Summed
/// afresh from the window (five values): a running sum kept NaN for good once an infinite loss had left the window
/// (inf − inf), so ASHA scored a trial that recovered as the worst.</summary>
public sealed class MovingMean(int window)
{
    private readonly Queue<double> _values = new();

    public double Value => _values.Count == 0 ? double.NaN : _values.Average();

    public void Add(double value)
    {
        _values.Enqueue(value);
        if (_values.Count > Math.Max(1, window)) _values.Dequeue();
    }
}
