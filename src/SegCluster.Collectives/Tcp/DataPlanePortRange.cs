using System.Globalization;

namespace SegCluster.Collectives.Tcp;

/// <summary>The ports <see cref="CollectiveOptions.DataPlanePorts"/> allows, "FIRST-LAST" inclusive.</summary>
public readonly record struct DataPlanePortRange(int First, int Last)
{
    /// <summary>Parses "FIRST-LAST" with 1 ≤ FIRST ≤ LAST ≤ 65535; false for anything else.</summary>
    public static bool TryParse(string? text, out DataPlanePortRange range)
    {
        range = default;
        var parts = text?.Split('-', StringSplitOptions.TrimEntries);
        if (parts is not { Length: 2 }
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            || first < 1 || last > 65535 || first > last)
        {
            return false;
        }

        range = new DataPlanePortRange(first, last);
        return true;
    }

    public override string ToString() => $"{First}-{Last}";
}
