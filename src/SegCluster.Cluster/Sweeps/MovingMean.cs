namespace SegCluster.Cluster.Sweeps;

/// <summary>Mean of the last <c>window</c> values: smooths per-step training loss before ASHA compares trials.</summary>
public sealed class MovingMean(int window)
{
    private readonly Queue<double> _values = new();
    private double _sum;

    public double Value => _values.Count == 0 ? double.NaN : _sum / _values.Count;

    public void Add(double value)
    {
        _values.Enqueue(value);
        _sum += value;
        if (_values.Count > Math.Max(1, window)) _sum -= _values.Dequeue();
    }
}
