using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// Loads backbone weights from a user file in TorchSharp's state-dict format (what <c>module.save(path)</c>
/// writes: an entry count, then per entry the key and the tensor as dtype, rank, shape, raw bytes; integers
/// LEB128-encoded). Semantics are PyTorch's load_state_dict(strict=True): every key of the target must be in
/// the file with the same shape and dtype, and the file may hold no other keys, except the ones
/// <c>ignore</c> accepts (by default the classifier's fc.*, so an ImageNet classifier file loads into its
/// backbone). TorchSharp's own <c>module.load</c> does not name the key whose shape differs, so the file is
/// checked entry by entry first and every problem is reported at once, naming the key and both shapes;
/// nothing is copied unless the whole file fits.
/// </summary>
public static class BackboneWeights
{
    /// <summary>Keys a backbone file may hold beyond the backbone's own: the classifier's fc layer.</summary>
    public static bool IsClassifierKey(string key) => key.StartsWith("fc.", StringComparison.Ordinal);

    /// <summary>Copies the file's tensors into <paramref name="target"/>'s parameters and buffers.</summary>
    /// <exception cref="InvalidDataException">The file does not fit the module; the message lists every mismatched key.</exception>
    public static void Load(nn.Module target, string path, Func<string, bool>? ignore = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ignore ??= IsClassifierKey;
        var entries = Read(path);
        var state = target.state_dict();
        var problems = new List<string>();
        foreach (var (key, entry) in entries)
        {
            if (!state.TryGetValue(key, out var t))
            {
                if (!ignore(key)) problems.Add($"unexpected key '{key}' (shape [{string.Join(", ", entry.Shape)}]) is not in the model");
                continue;
            }
            if (!t.shape.SequenceEqual(entry.Shape))
                problems.Add($"key '{key}': file has shape [{string.Join(", ", entry.Shape)}], model has [{string.Join(", ", t.shape)}]");
            else if (t.dtype != entry.Type)
                problems.Add($"key '{key}': file has dtype {entry.Type}, model has {t.dtype}");
        }
        problems.AddRange(state.Keys.Where(k => !entries.ContainsKey(k)).Select(k => $"missing key '{k}' is not in the file"));
        if (problems.Count > 0)
            throw new InvalidDataException(
                $"backbone weights '{path}' do not fit {target.GetName()}: {string.Join("; ", problems)}. " +
                "Save the file from the same backbone (same depth, width and norm), e.g. with encoder.save(path).");

        using var noGrad = no_grad();
        foreach (var (key, t) in state)
        {
            var entry = entries[key];
            using var source = empty(entry.Shape, entry.Type);
            source.bytes = entry.Bytes;
            t.copy_(source);
        }
    }

    private sealed record Entry(ScalarType Type, long[] Shape, byte[] Bytes);

    private const int MaxRank = 8;

    /// <summary>Reads the entries, refusing what is not the format (a PyTorch .pth zip or pickle read as varints gave
    /// garbage keys, overflows or out-of-memory instead of an error), a rank or size the file cannot hold, and a
    /// truncated file (BinaryReader.ReadBytes returns short arrays silently).</summary>
    private static Dictionary<string, Entry> Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        RefuseForeignFormat(reader, path);
        long count = Decode(reader);
        if (count < 0 || count > Math.Min(stream.Length, Array.MaxLength)) throw NotTheFormat(path, $"it claims {count} entries");
        var entries = new Dictionary<string, Entry>((int)count, StringComparer.Ordinal);
        for (long i = 0; i < count; i++)
        {
            string key = reader.ReadString();
            var type = (ScalarType)Decode(reader);
            long rank = Decode(reader);
            if (rank is < 0 or > MaxRank) throw NotTheFormat(path, $"key '{key}' has rank {rank}");
            var shape = new long[rank];
            for (int d = 0; d < shape.Length; d++) shape[d] = Decode(reader);
            // Bounded by the bytes left before multiplying, so a forged shape cannot wrap to a small or negative size.
            long left = stream.Length - stream.Position, elements = 1;
            foreach (var extent in shape)
                elements = extent < 0 || (elements != 0 && extent > left / elements) ? long.MaxValue : elements * extent;
            long size = ElementSize(type, key), bytes = elements > left / size ? long.MaxValue : elements * size;
            if (bytes > Math.Min(left, Array.MaxLength))
                throw new InvalidDataException($"backbone weights '{path}' end inside key '{key}' (shape [{string.Join(", ", shape)}]): the file is truncated or not a TorchSharp state dict.");
            entries[key] = new Entry(type, shape, reader.ReadBytes((int)bytes));
        }
        return entries;
    }

    /// <summary>PyTorch's own files: torch.save writes a zip (PK\x03\x04) since 1.6, before that a pickle whose first
    /// object is the magic number (80 02 8A 0A); a lone 0x80 is also a TorchSharp entry count of 128.</summary>
    private static void RefuseForeignFormat(BinaryReader reader, string path)
    {
        var stream = reader.BaseStream;
        Span<byte> head = stackalloc byte[4];
        int read = stream.Read(head);
        stream.Position = 0;
        if (read == 0) throw NotTheFormat(path, "it is empty");
        if (read == 4 && (head.SequenceEqual("PK\x03\x04"u8) || head.SequenceEqual(new byte[] { 0x80, 0x02, 0x8A, 0x0A })))
            throw NotTheFormat(path, "it is a PyTorch torch.save file (zip or pickle)");
    }

    private static InvalidDataException NotTheFormat(string path, string why) => new(
        $"backbone weights '{path}' are not a TorchSharp state dict ({why}). Convert a PyTorch checkpoint with TorchSharp's " +
        "exportsd.py (docs/models.md), or save one with module.save(path).");

    /// <summary>TorchSharp's BinaryWriter.Encode: little-endian base-128 varint.</summary>
    private static long Decode(BinaryReader reader)
    {
        long value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
    }

    private static int ElementSize(ScalarType type, string key) => type switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new InvalidDataException($"key '{key}' has unsupported dtype {type}"),
    };
}
