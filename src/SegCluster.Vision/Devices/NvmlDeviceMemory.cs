using System.Runtime.InteropServices;

namespace SegCluster.Vision.Devices;

/// <summary>
/// GPU memory as nvidia-smi reports it, read through NVML (libnvidia-ml.so.1, installed with the NVIDIA
/// driver). TorchSharp 0.107 has no <c>torch.cuda.memory_allocated</c>, so this is the device-memory source
/// for /metrics. Empty on machines without the driver. NVML numbers devices in PCI order; set
/// CUDA_DEVICE_ORDER=PCI_BUS_ID so cuda:N names the same GPU.
/// </summary>
public static class NvmlDeviceMemory
{
    private const string Library = "libnvidia-ml.so.1";
    private const int Success = 0;
    private static readonly Lazy<bool> Available = new(Initialise);

    /// <summary>Used and total bytes of every GPU; empty when NVML is not present.</summary>
    public static IReadOnlyList<DeviceMemory> Read()
    {
        if (!Available.Value || nvmlDeviceGetCount_v2(out var count) != Success) return [];
        var result = new List<DeviceMemory>((int)count);
        for (uint i = 0; i < count; i++)
        {
            if (nvmlDeviceGetHandleByIndex_v2(i, out var handle) == Success && nvmlDeviceGetMemoryInfo(handle, out var memory) == Success)
                result.Add(new DeviceMemory($"cuda:{i}", (long)memory.Used, (long)memory.Total));
        }
        return result;
    }

    /// <summary>The compute capability major version of GPU <paramref name="index"/> (8 = Ampere, bf16 tensor cores), or null when NVML cannot say.</summary>
    public static int? ComputeCapabilityMajor(int index)
    {
        if (!Available.Value || index < 0) return null;
        return nvmlDeviceGetHandleByIndex_v2((uint)index, out var handle) == Success
            && nvmlDeviceGetCudaComputeCapability(handle, out var major, out _) == Success ? major : null;
    }

    private static bool Initialise()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(Library, out _)) return false;
        try
        {
            return nvmlInit_v2() == Success;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct NvmlMemory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    [DllImport(Library)] private static extern int nvmlInit_v2();
    [DllImport(Library)] private static extern int nvmlDeviceGetCount_v2(out uint count);
    [DllImport(Library)] private static extern int nvmlDeviceGetHandleByIndex_v2(uint index, out IntPtr device);
    [DllImport(Library)] private static extern int nvmlDeviceGetMemoryInfo(IntPtr device, out NvmlMemory memory);
    [DllImport(Library)] private static extern int nvmlDeviceGetCudaComputeCapability(IntPtr device, out int major, out int minor);
}

/// <summary>One GPU's memory in bytes.</summary>
public sealed record DeviceMemory(string Device, long UsedBytes, long TotalBytes);
