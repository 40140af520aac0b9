namespace SegCluster.Vision.Training;

/// <summary>World size 1: the sum over one rank is the buffer itself.</summary>
public sealed class SingleRankReducer : IGradientReducer
{
    public int Rank => 0;

    public int WorldSize => 1;

    public void Sum(Memory<float> buffer) { }
}
