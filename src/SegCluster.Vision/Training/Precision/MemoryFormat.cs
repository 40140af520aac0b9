namespace SegCluster.Vision.Training.Precision;

/// <summary>Strides of 4-D convolution weights and images.</summary>
public enum MemoryFormat
{
    /// <summary>NCHW strides (libtorch's default).</summary>
    Contiguous,

    /// <summary>NHWC strides with NCHW shapes: the layout GPU tensor-core convolutions run fastest in.</summary>
    ChannelsLast,
}
