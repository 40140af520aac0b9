using TorchSharp;

namespace SegCluster.Vision.Devices;

/// <summary>
/// Parses the device strings used in specs and on the command line ("cpu", "cuda", "cuda:N")
/// into TorchSharp devices. DESIGN.md "CPU and GPU": one spelling everywhere.
/// </summary>
public static class DeviceParser
{
    private const string ValidForms = "valid forms are \"cpu\", \"cuda\" (= \"cuda:0\") and \"cuda:N\" with N >= 0";

    /// <summary>Parses <paramref name="device"/>; case and surrounding spaces are ignored.</summary>
    /// <exception cref="ArgumentException">The string is not one of the valid forms.</exception>
    /// <exception cref="InvalidOperationException">CUDA was requested but is not available here.</exception>
    public static torch.Device Parse(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var text = device.Trim().ToLowerInvariant();
        if (text == "cpu")
            return torch.CPU;

        int index;
        if (text == "cuda")
            index = 0;
        else if (text.StartsWith("cuda:", StringComparison.Ordinal)
                 && int.TryParse(text.AsSpan(5), System.Globalization.NumberStyles.None,
                     System.Globalization.CultureInfo.InvariantCulture, out index))
        {
            // parsed
        }
        else
            throw new ArgumentException($"Unknown device \"{device}\": {ValidForms}.", nameof(device));

        if (!torch.cuda.is_available())
            throw new InvalidOperationException(
                $"Device \"{device}\" requested but CUDA is not available in this process " +
                "(CPU build of libtorch or no GPU). Use \"cpu\", or build with -p:TorchBackend=cuda on a GPU machine.");
        var count = torch.cuda.device_count();
        if (index >= count)
            throw new ArgumentException(
                $"Device \"{device}\" does not exist: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}.",
                nameof(device));
        return torch.device(DeviceType.CUDA, index);
    }
}
