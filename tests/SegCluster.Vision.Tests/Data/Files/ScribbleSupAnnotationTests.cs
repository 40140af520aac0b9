using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Tests.Data.Files;

/// <summary>ScribbleSup's XML strokes become 1-pixel VOC-id polylines on an ignore mask (PAPERS.md §5).</summary>
public sealed class ScribbleSupAnnotationTests : IDisposable
{
    private const int H = 12, W = 16;
    private readonly string _root = Directory.CreateTempSubdirectory("segcluster-scribblesup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Strokes_are_drawn_as_polylines_of_their_class_with_objects_over_background()
    {
        var path = Write("hand.xml", W, H,
            ("plane", [(1, 1), (5, 1), (5, 4)]),          // an L: row 1, then column 5
            ("background", [(3, 0), (3, 3)]),              // crosses the plane's row at (3, 1): the object wins
            ("sky", [(0, 6), (20, 6)]),                    // PASCAL-Context stuff is VOC background; clipped at x = 15
            ("bike", [(8, 8), (11, 11)]),                  // a diagonal
            ("person", [(14, 10)]));                       // a single point

        var (mask, height, width) = ScribbleSupAnnotation.Rasterize(path);

        Assert.Equal((H, W), (height, width));
        var expected = Enumerable.Repeat((byte)255, H * W).ToArray();
        void Set(int x, int y, byte id) => expected[y * W + x] = id;
        for (int y = 0; y <= 3; y++) Set(3, y, 0);
        for (int x = 0; x < W; x++) Set(x, 6, 0);
        for (int x = 1; x <= 5; x++) Set(x, 1, 1);
        for (int y = 1; y <= 4; y++) Set(5, y, 1);
        for (int d = 0; d <= 3; d++) Set(8 + d, 8 + d, 2);
        Set(14, 10, 15);
        Assert.Equal(expected, mask);
    }

    [Fact]
    public void An_unusable_annotation_is_an_error_naming_the_file_and_the_problem()
    {
        string Problem(string path) => Assert.Throws<DatasetFileException>(() => ScribbleSupAnnotation.Rasterize(path)).Message;

        var typo = Write("typo.xml", W, H, ("aeroplan", [(1, 1)]));
        Assert.StartsWith($"{typo}: scribble tag 'aeroplan' is neither a VOC class", Problem(typo));
        var broken = Path.Combine(_root, "broken.xml");
        File.WriteAllText(broken, "<annotation><size><width>16</width>");
        Assert.Contains("not a well-formed XML scribble annotation", Problem(broken));
        var sizeless = Path.Combine(_root, "sizeless.xml");
        File.WriteAllText(sizeless, "<annotation><polygon><tag>dog</tag><point><X>1</X><Y>1</Y></point></polygon></annotation>");
        Assert.Contains("<size><width> is missing", Problem(sizeless));
        var pointless = Path.Combine(_root, "pointless.xml");
        File.WriteAllText(pointless, "<annotation><size><width>16</width><height>12</height></size><polygon><tag>dog</tag><point><X>a</X></point></polygon></annotation>");
        Assert.Contains("a <point> of the 'dog' scribble lacks integer <X> and <Y>", Problem(pointless));
        Assert.EndsWith("file not found.", Problem(Path.Combine(_root, "missing.xml")));
    }

    private string Write(string name, int width, int height, params (string Tag, (int X, int Y)[] Points)[] strokes)
    {
        var path = Path.Combine(_root, name);
        SegCluster.Tests.Shared.ScribbleSupXml.Write(path, width, height, strokes);
        return path;
    }
}
