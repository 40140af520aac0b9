using Microsoft.Extensions.Options;

namespace SegCluster.Collectives;

/// <summary>Validates <see cref="CollectiveOptions"/>; every message names the setting and the fix.</summary>
public sealed class CollectiveOptionsValidator : IValidateOptions<CollectiveOptions>
{
    public ValidateOptionsResult Validate(string? name, CollectiveOptions options)
    {
        var failures = GetFailures(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every invalid setting.</summary>
    public static void ThrowIfInvalid(CollectiveOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = GetFailures(options);
        if (failures.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", failures), nameof(options));
        }
    }

    private static List<string> GetFailures(CollectiveOptions options)
    {
        var failures = new List<string>();
        var section = CollectiveOptions.SectionName;
        if (options.ChunkBytes <= 0 || options.ChunkBytes % sizeof(float) != 0)
        {
            failures.Add(
                $"{section}:ChunkBytes must be a positive multiple of 4 (the size of a float); it is {options.ChunkBytes}. " +
                $"Set {section}:ChunkBytes to e.g. 1048576.");
        }
        else if (options.ChunkBytes > CollectiveOptions.MaxChunkBytes)
        {
            failures.Add(
                $"{section}:ChunkBytes is {options.ChunkBytes}, above the maximum {CollectiveOptions.MaxChunkBytes}. " +
                "Use a smaller chunk; large buffers are split into many chunks anyway.");
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            failures.Add($"{section}:Timeout must be a positive finite duration; it is {options.Timeout}. Set e.g. \"00:01:00\".");
        }

        if (options.ConnectTimeout <= TimeSpan.Zero || options.ConnectTimeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            failures.Add($"{section}:ConnectTimeout must be a positive finite duration; it is {options.ConnectTimeout}. Set e.g. \"00:10:00\".");
        }

        if (!Enum.IsDefined(options.Transport))
        {
            failures.Add(
                $"{section}:Transport is {(int)options.Transport}, which is not a transport. " +
                $"Set {section}:Transport to one of: {string.Join(", ", Enum.GetNames<RingTransport>())}.");
        }

        if (!Enum.IsDefined(options.Wire))
        {
            failures.Add(
                $"{section}:Wire is {(int)options.Wire}, which is not a wire format. " +
                $"Set {section}:Wire to one of: {string.Join(", ", Enum.GetNames<WireFormat>())}.");
        }
        else if (options.Wire == WireFormat.Fp16 && options.Transport != RingTransport.Tcp)
        {
            failures.Add(
                $"{section}:Wire = Fp16 needs {section}:Transport = Tcp (it is {options.Transport}). " +
                $"Set {section}:Transport to Tcp, or {section}:Wire to Fp32.");
        }

        if (options.DataPlanePorts is { } ports && !Tcp.DataPlanePortRange.TryParse(ports, out _))
        {
            failures.Add(
                $"{section}:DataPlanePorts is \"{ports}\"; use \"FIRST-LAST\" with 1 <= FIRST <= LAST <= 65535 (e.g. \"40000-40063\"), " +
                "or leave it unset for any free port.");
        }

        if (options.Token is not null && string.IsNullOrWhiteSpace(options.Token))
        {
            failures.Add($"{section}:Token is set but blank. Remove it to disable authentication, or set the cluster token.");
        }

        return failures;
    }
}
