namespace SegCluster.Vision.Data.Files;

/// <summary>
/// The PASCAL VOC colour map (VOCdevkit's labelcolormap.m): index i spreads its bits over R, G, B from the
/// high bit down. It is a bijection of the 256 indices, so a decoded palette PNG's colours give back the indices.
/// </summary>
public static class VocPalette
{
    private static readonly (byte R, byte G, byte B)[] Colours = Build();
    private static readonly Dictionary<int, byte> IndexOfColour =
        Enumerable.Range(0, 256).ToDictionary(i => Key(Colours[i].R, Colours[i].G, Colours[i].B), i => (byte)i);

    public static (byte R, byte G, byte B) Colour(int index) => Colours[index];

    /// <summary>The palette index of a colour, or false when the colour is not in the VOC map.</summary>
    public static bool TryIndex(byte r, byte g, byte b, out byte index) => IndexOfColour.TryGetValue(Key(r, g, b), out index);

    private static int Key(byte r, byte g, byte b) => (r << 16) | (g << 8) | b;

    private static (byte, byte, byte)[] Build()
    {
        var map = new (byte, byte, byte)[256];
        for (int i = 0; i < 256; i++)
        {
            int r = 0, g = 0, b = 0, c = i;
            for (int j = 0; j < 8; j++)
            {
                r |= ((c >> 0) & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            map[i] = ((byte)r, (byte)g, (byte)b);
        }
        return map;
    }
}
