namespace SegCluster.Vision.Data.Files;

/// <summary>
/// ADE20K scene parsing (ADEChallengeData2016, root = that folder or its parent): images/{training,validation}/*.jpg
/// with annotations/{training,validation}/{stem}.png. Masks hold 0 = "other" and 1..150; like mmsegmentation's
/// reduce_zero_label, 0 becomes ignore and k becomes k-1, so the 150 classes are train ids 0..149.
/// Splits are named train and val.
/// </summary>
public static class Ade20kReader
{
    public static IReadOnlyList<string> ClassNames { get; } =
    [
        "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass", "cabinet",
        "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair", "car", "water",
        "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat", "fence", "desk",
        "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion", "base", "box", "column", "signboard",
        "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace", "refrigerator", "grandstand",
        "path", "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway", "river", "bridge",
        "bookcase", "blind", "coffee table", "toilet", "flower", "book", "hill", "bench", "countertop", "stove",
        "palm", "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel", "bus",
        "towel", "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver",
        "airplane", "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet",
        "poster", "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything",
        "swimming pool", "stool", "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven",
        "ball", "food", "step", "tank", "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher",
        "screen", "blanket", "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier",
        "crt screen", "plate", "monitor", "bulletin board", "shower", "radiator", "glass", "clock", "flag",
    ];

    private static readonly (string Folder, string Split)[] SplitFolders = [("training", "train"), ("validation", "val")];

    public static bool Matches(string root) => Resolve(root) is not null;

    public static DatasetLayout Read(string root)
    {
        var ade = Resolve(root) ?? throw new ArgumentException($"{root} is not an ADE20K folder (images/training/ and annotations/training/ expected).", nameof(root));
        var splits = new Dictionary<string, IReadOnlyList<SampleFiles>>();
        foreach (var (folder, split) in SplitFolders)
        {
            var images = Path.Combine(ade, "images", folder);
            if (!Directory.Exists(images)) continue;
            splits[split] = DatasetDirectory.Images(images).Select(image =>
            {
                var stem = Path.GetFileNameWithoutExtension(image);
                return new SampleFiles(stem, image, Path.Combine(ade, "annotations", folder, stem + ".png"), MaskEncoding.Gray);
            }).ToList();
        }
        return new DatasetLayout(DatasetFormat.Ade20k, ade, ClassNames, LabelMapping.ReduceZero(ClassNames.Count), splits);
    }

    private static string? Resolve(string root) =>
        new[] { root, Path.Combine(root, "ADEChallengeData2016") }.FirstOrDefault(d =>
            Directory.Exists(Path.Combine(d, "images", "training")) && Directory.Exists(Path.Combine(d, "annotations", "training")));
}
