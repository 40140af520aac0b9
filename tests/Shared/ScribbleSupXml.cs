namespace SegCluster.Tests.Shared;

/// <summary>Writes a scribble annotation in ScribbleSup's XML layout (one &lt;polygon&gt; per stroke: a class tag and its vertices).</summary>
internal static class ScribbleSupXml
{
    public static void Write(string path, int width, int height, params (string Tag, (int X, int Y)[] Points)[] strokes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var polygons = string.Concat(strokes.Select(s =>
            $"<polygon><tag>{s.Tag}</tag>{string.Concat(s.Points.Select(p => $"<point><X>{p.X}</X><Y>{p.Y}</Y></point>"))}</polygon>"));
        File.WriteAllText(path, $"<annotation><filename>{Path.GetFileNameWithoutExtension(path)}.jpg</filename><folder>VOC2012</folder>" +
            $"<segmented>1</segmented><size><width>{width}</width><height>{height}</height></size>{polygons}</annotation>");
    }
}
