namespace SegCluster.Vision.Models;

/// <summary>Typed model spec, validated up front (STYLE.md habit 2).</summary>
/// <param name="Name">Registry name, see <see cref="ModelRegistry.Names"/>.</param>
/// <param name="NumClasses">K, the number of output channels.</param>
/// <param name="Width">Base channels C: encoder levels have C, 2C, 4C, 8C channels, decoders 2C. Small by default for CPU.</param>
/// <param name="Norm">Normalisation layer after each convolution.</param>
public sealed record ModelOptions(string Name = "spgnet", int NumClasses = 6, int Width = 16, NormKind Norm = NormKind.BatchNorm)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || !ModelRegistry.Names.Contains(Name))
            throw new ArgumentException(
                $"ModelOptions.Name = \"{Name}\" is not a known model; valid names: {string.Join(", ", ModelRegistry.Names)}.",
                nameof(Name));
        if (NumClasses is < 2 or > 255)
            throw new ArgumentException(
                $"ModelOptions.NumClasses = {NumClasses} is out of range: it must be in [2, 255] (255 is the ignore label).",
                nameof(NumClasses));
        if (Width is < 4 or > 1024)
            throw new ArgumentException($"ModelOptions.Width = {Width} is out of range: it must be in [4, 1024].", nameof(Width));
        if (!Enum.IsDefined(Norm))
            throw new ArgumentException($"ModelOptions.Norm = {Norm} is not a NormKind.", nameof(Norm));
    }
}
