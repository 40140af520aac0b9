namespace SegCluster.Vision.Data.Files;

/// <summary>How a mask file stores its raw label values.</summary>
public enum MaskEncoding
{
    /// <summary>Grey (or R=G=B) 8-bit values are the raw ids (Cityscapes labelIds, ADE20K, SegmentationClassAug, folder masks).</summary>
    Gray,
    /// <summary>Palette PNG whose colours are the PASCAL VOC colour map: the palette index is the raw id (<see cref="VocPalette"/>).</summary>
    VocPalette,
    /// <summary>ScribbleSup's XML strokes, rasterised to VOC class ids with 255 elsewhere (<see cref="ScribbleSupAnnotation"/>).</summary>
    ScribbleSupXml,
}
