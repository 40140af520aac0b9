using System.Xml;
using System.Xml.Linq;

namespace SegCluster.Vision.Data.Files;

/// <summary>
/// ScribbleSup's own annotation of PASCAL VOC 2012 (Lin et al., CVPR 2016; PAPERS.md §5): one XML file per image,
/// <c>&lt;size&gt;</c> with the image's width and height, and one <c>&lt;polygon&gt;</c> per scribble, a class
/// <c>&lt;tag&gt;</c> and the stroke's <c>&lt;point&gt;&lt;X/&gt;&lt;Y/&gt;&lt;/point&gt;</c> vertices. Each stroke is
/// rasterised as a 1-pixel polyline (Bresenham between consecutive vertices, vertices outside the image clipped) onto
/// a mask that is 255 (ignore) elsewhere. The tags name the 20 VOC objects, by VOC name or ScribbleSup's short one
/// (plane, bike, table, plant, monitor); "background" and the PASCAL-Context stuff and object tags VOC does not have
/// (sky, grass, wall, truck …) are VOC's background, 0. Background strokes are drawn first, so an object's stroke
/// wins where they cross. Any other tag is an error naming it: a typo must not become background.
/// </summary>
public static class ScribbleSupAnnotation
{
    /// <summary>ScribbleSup's short names of VOC classes; every <see cref="VocReader.ClassNames"/> entry is accepted as well.</summary>
    private static readonly Dictionary<string, string> ShortNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["plane"] = "aeroplane", ["bike"] = "bicycle", ["table"] = "diningtable", ["plant"] = "pottedplant",
        ["monitor"] = "tvmonitor", ["tv"] = "tvmonitor", ["motorcycle"] = "motorbike",
    };

    /// <summary>PASCAL-Context's classes outside VOC's 20 objects: background in VOC's labels.</summary>
    private static readonly HashSet<string> ContextBackground = new(StringComparer.OrdinalIgnoreCase)
    {
        "sky", "grass", "ground", "road", "building", "tree", "water", "mountain", "wall", "floor", "track", "keyboard",
        "ceiling", "bag", "bed", "bedclothes", "bench", "book", "cabinet", "cloth", "computer", "cup", "curtain", "door",
        "fence", "flower", "food", "mouse", "plate", "platform", "rock", "shelves", "sidewalk", "sign", "snow", "truck",
        "window", "wood", "light",
    };

    /// <summary>The rasterised scribbles as VOC class ids (255 elsewhere), with the annotation's height and width.</summary>
    public static (byte[] Values, int Height, int Width) Rasterize(string path)
    {
        var root = Load(path);
        int width = Size(root, "width", path), height = Size(root, "height", path);
        var strokes = root.Elements("polygon").Select(polygon => (Class: ClassOf(polygon, path), Points: Points(polygon, path))).ToList();
        var mask = new byte[height * width];
        Array.Fill(mask, SegmentationSample.IgnoreLabel);
        foreach (var (classId, points) in strokes.OrderBy(s => s.Class == 0 ? 0 : 1))  // stable: document order within each
            for (int i = 0; i < points.Count; i++)
                foreach (var (x, y) in Line(points[i], points[Math.Min(i + 1, points.Count - 1)]))
                    if ((uint)x < (uint)width && (uint)y < (uint)height)
                        mask[y * width + x] = classId;
        return (mask, height, width);
    }

    private static XElement Load(string path)
    {
        if (!File.Exists(path))
            throw new DatasetFileException(path, "file not found.");
        try
        {
            return XDocument.Load(path).Root ?? throw new DatasetFileException(path, "the XML document is empty.");
        }
        catch (XmlException e)
        {
            throw new DatasetFileException(path, $"not a well-formed XML scribble annotation ({e.Message}).", e);
        }
    }

    private static int Size(XElement root, string name, string path) =>
        int.TryParse(root.Element("size")?.Element(name)?.Value.Trim(), out var value) && value > 0
            ? value
            : throw new DatasetFileException(path, $"<size><{name}> is missing or not a positive integer; the annotation must give the image's size.");

    private static byte ClassOf(XElement polygon, string path)
    {
        var tag = polygon.Element("tag")?.Value.Trim();
        if (string.IsNullOrEmpty(tag))
            throw new DatasetFileException(path, "a <polygon> has no <tag> naming its class.");
        if (tag.Equals("background", StringComparison.OrdinalIgnoreCase) || ContextBackground.Contains(tag)) return 0;
        var name = ShortNames.GetValueOrDefault(tag, tag);
        for (int id = 1; id < VocReader.ClassNames.Count; id++)
            if (VocReader.ClassNames[id].Equals(name, StringComparison.OrdinalIgnoreCase)) return (byte)id;
        throw new DatasetFileException(path, $"scribble tag '{tag}' is neither a VOC class ({string.Join(", ", VocReader.ClassNames.Skip(1))}, " +
            $"or ScribbleSup's {string.Join(", ", ShortNames.Keys)}) nor background (background or a PASCAL-Context stuff class).");
    }

    private static List<(int X, int Y)> Points(XElement polygon, string path)
    {
        var points = polygon.Elements("point").Select(p =>
            int.TryParse(p.Element("X")?.Value.Trim(), out var x) && int.TryParse(p.Element("Y")?.Value.Trim(), out var y)
                ? (x, y)
                : throw new DatasetFileException(path, $"a <point> of the '{polygon.Element("tag")?.Value.Trim()}' scribble lacks integer <X> and <Y>: {p}")).ToList();
        return points.Count > 0 ? points : throw new DatasetFileException(path, $"the '{polygon.Element("tag")?.Value.Trim()}' scribble has no <point>.");
    }

    /// <summary>Bresenham's line from <paramref name="from"/> to <paramref name="to"/>, both ends included.</summary>
    private static IEnumerable<(int X, int Y)> Line((int X, int Y) from, (int X, int Y) to)
    {
        int dx = Math.Abs(to.X - from.X), dy = -Math.Abs(to.Y - from.Y);
        int sx = from.X < to.X ? 1 : -1, sy = from.Y < to.Y ? 1 : -1;
        int error = dx + dy, x = from.X, y = from.Y;
        while (true)
        {
            yield return (x, y);
            if (x == to.X && y == to.Y) yield break;
            int doubled = 2 * error;
            if (doubled >= dy) { error += dy; x += sx; }
            if (doubled <= dx) { error += dx; y += sy; }
        }
    }
}
