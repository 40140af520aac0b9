using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace SegCluster.Collectives.Tcp;

/// <summary>
/// Who a data connection claims to be: ring, world size, the two ranks of the edge, and a fingerprint of
/// the membership (the ring generation: a peer of an earlier formation with other endpoints is refused), and
/// the wire format and chunk size both ends must share (a chunk-size mismatch would otherwise surface only on the first
/// frame, as a confusing buffer-length mismatch).
/// </summary>
internal sealed record DataPlaneHello(string GroupId, int WorldSize, int SourceRank, int DestinationRank, byte[] Membership, WireFormat Wire, int ChunkBytes)
{
    /// <summary>Longest group id accepted on the wire, so a stranger cannot make the listener allocate much.</summary>
    public const int MaxGroupIdBytes = 1024;

    public const int MembershipBytes = 32;

    // After the group id: world size, source, destination, membership, wire, chunk bytes.
    private const int FixedBytes = 12 + MembershipBytes + 8;

    /// <summary>The hello of the edge <paramref name="source"/> → <paramref name="destination"/> of <paramref name="group"/>
    /// under this process's <paramref name="options"/> (wire format and chunk size).</summary>
    public static DataPlaneHello For(RingGroup group, int source, int destination, CollectiveOptions options) =>
        new(group.GroupId, group.WorldSize, source, destination, Fingerprint(group), options.Wire, options.ChunkBytes);

    /// <summary>Throws <see cref="ArgumentException"/> when a group id of <paramref name="utf8Bytes"/> bytes does not fit the hello.</summary>
    public static void CheckGroupIdLength(int utf8Bytes)
    {
        if (utf8Bytes > MaxGroupIdBytes)
        {
            throw new ArgumentException(
                $"RingGroup.GroupId is {utf8Bytes} bytes in UTF-8; at most {MaxGroupIdBytes} fit the data-plane handshake.", nameof(RingGroup.GroupId));
        }
    }

    /// <summary>SHA-256 of the group id and its endpoints in rank order.</summary>
    public static byte[] Fingerprint(RingGroup group) =>
        SHA256.HashData(Encoding.UTF8.GetBytes(group.GroupId + "\n" + string.Join("\n", group.Endpoints)));

    /// <summary>u16 id length, id (UTF-8), i32 world size, i32 source, i32 destination, 32-byte membership, i32 wire, i32 chunk bytes;
    /// little-endian. A change of layout bumps the handshake's protocol version (<see cref="DataPlaneHandshake"/>).</summary>
    public byte[] Encode()
    {
        var id = Encoding.UTF8.GetBytes(GroupId);
        CheckGroupIdLength(id.Length);

        var bytes = new byte[2 + id.Length + FixedBytes];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)id.Length);
        id.CopyTo(bytes, 2);
        var rest = bytes.AsSpan(2 + id.Length);
        BinaryPrimitives.WriteInt32LittleEndian(rest, WorldSize);
        BinaryPrimitives.WriteInt32LittleEndian(rest[4..], SourceRank);
        BinaryPrimitives.WriteInt32LittleEndian(rest[8..], DestinationRank);
        Membership.CopyTo(rest[12..]);
        BinaryPrimitives.WriteInt32LittleEndian(rest[(12 + MembershipBytes)..], (int)Wire);
        BinaryPrimitives.WriteInt32LittleEndian(rest[(16 + MembershipBytes)..], ChunkBytes);
        return bytes;
    }

    /// <summary>Reads what <see cref="Encode"/> wrote; returns the hello and its exact bytes (they are MAC'd).</summary>
    public static async Task<(DataPlaneHello Hello, byte[] Bytes)> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var length = new byte[2];
        await stream.ReadExactlyAsync(length, cancellationToken).ConfigureAwait(false);
        var idLength = BinaryPrimitives.ReadUInt16LittleEndian(length);
        if (idLength > MaxGroupIdBytes)
        {
            throw new InvalidDataException($"the group id is {idLength} bytes, above the limit {MaxGroupIdBytes}");
        }

        var bytes = new byte[2 + idLength + FixedBytes];
        length.CopyTo(bytes, 0);
        await stream.ReadExactlyAsync(bytes.AsMemory(2), cancellationToken).ConfigureAwait(false);
        var rest = bytes.AsSpan(2 + idLength);
        var hello = new DataPlaneHello(
            Encoding.UTF8.GetString(bytes, 2, idLength),
            BinaryPrimitives.ReadInt32LittleEndian(rest),
            BinaryPrimitives.ReadInt32LittleEndian(rest[4..]),
            BinaryPrimitives.ReadInt32LittleEndian(rest[8..]),
            rest[12..(12 + MembershipBytes)].ToArray(),
            (WireFormat)BinaryPrimitives.ReadInt32LittleEndian(rest[(12 + MembershipBytes)..]),
            BinaryPrimitives.ReadInt32LittleEndian(rest[(16 + MembershipBytes)..]));
        return (hello, bytes);
    }

    /// <summary>Why <paramref name="claimed"/> is not this edge, or null when it is.</summary>
    public string? Mismatch(DataPlaneHello claimed)
    {
        if (claimed.GroupId != GroupId)
        {
            return $"it is for group '{claimed.GroupId}' but this listener serves group '{GroupId}'";
        }

        if (claimed.WorldSize != WorldSize || claimed.DestinationRank != DestinationRank || claimed.SourceRank != SourceRank)
        {
            return $"it claims rank {claimed.SourceRank} → rank {claimed.DestinationRank} of {claimed.WorldSize}, " +
                   $"but this listener accepts only rank {SourceRank} → rank {DestinationRank} of {WorldSize}";
        }

        if (!claimed.Membership.AsSpan().SequenceEqual(Membership))
        {
            return "its ring has other members (endpoints) under the same group id: a different ring generation";
        }

        if (claimed.Wire != Wire)
        {
            return $"it sends wire format {claimed.Wire} but this rank expects {Wire} (set Collectives:Wire the same on every node)";
        }

        if (claimed.ChunkBytes != ChunkBytes)
        {
            return $"it sends chunks of {claimed.ChunkBytes} bytes but this rank expects {ChunkBytes} (set Collectives:ChunkBytes the same on every node)";
        }

        return null;
    }
}
