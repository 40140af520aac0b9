namespace SegCluster.Vision.Tests.Devices;

/// <summary>A fact about a process without CUDA: skipped, and reported so, where libtorch finds a CUDA device.</summary>
public sealed class CpuOnlyFactAttribute : FactAttribute
{
    public CpuOnlyFactAttribute()
    {
        if (TorchSharp.torch.cuda.is_available()) Skip = "CUDA is available here: this checks what a CPU-only process reports";
    }
}
