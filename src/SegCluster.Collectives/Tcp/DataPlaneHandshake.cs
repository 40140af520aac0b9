using System.Security.Cryptography;
using System.Text;

namespace SegCluster.Collectives.Tcp;

/// <summary>
/// Mutual proof of the cluster token on a new data connection, without sending the token: each side
/// MACs the other's fresh nonce (HMAC-SHA256 keyed with the token, an empty key when none is set).
/// </summary>
/// <remarks>
/// listener → dialer: magic, 32-byte nonce Nl.
/// dialer → listener: magic, nonce Nd, hello, HMAC(token, "client" ‖ Nl ‖ Nd ‖ hello).
/// listener → dialer: 0, HMAC(token, "server" ‖ Nd ‖ Nl ‖ hello) — or 1, u16 length, reason; then it closes.
/// The magic carries the protocol version ("SCR" and a digit), bumped when the hello's layout changes, so nodes of
/// different versions are told so instead of misreading each other's hello.
/// The hello (group, world size, ranks, membership, wire, chunk size) is inside the MAC, so it cannot be altered or replayed
/// onto another listener (fresh Nl per connection).
/// </remarks>
internal static class DataPlaneHandshake
{
    private const int NonceBytes = 32;
    private const int MacBytes = 32;
    private static readonly byte[] Magic = "SCR2"u8.ToArray();
    private static readonly byte[] ClientLabel = "client"u8.ToArray();
    private static readonly byte[] ServerLabel = "server"u8.ToArray();

    /// <summary>The dialer's side. Returns null on success, else the reason the connection cannot be used.</summary>
    public static async Task<string?> DialAsync(Stream stream, DataPlaneHello hello, string? token, CancellationToken cancellationToken)
    {
        var greeting = new byte[Magic.Length + NonceBytes];
        await stream.ReadExactlyAsync(greeting, cancellationToken).ConfigureAwait(false);
        if (ProtocolMismatch(greeting, "the port") is { } mismatch)
        {
            return mismatch;
        }

        var listenerNonce = greeting[Magic.Length..];
        var dialerNonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var helloBytes = hello.Encode();
        var mac = Mac(token, ClientLabel, listenerNonce, dialerNonce, helloBytes);
        await stream.WriteAsync(Concat(Magic, dialerNonce, helloBytes, mac), cancellationToken).ConfigureAwait(false);

        var status = new byte[1];
        await stream.ReadExactlyAsync(status, cancellationToken).ConfigureAwait(false);
        if (status[0] != 0)
        {
            return "it refused the connection: " + await ReadReasonAsync(stream, cancellationToken).ConfigureAwait(false);
        }

        var proof = new byte[MacBytes];
        await stream.ReadExactlyAsync(proof, cancellationToken).ConfigureAwait(false);
        var expected = Mac(token, ServerLabel, dialerNonce, listenerNonce, helloBytes);
        return CryptographicOperations.FixedTimeEquals(proof, expected)
            ? null
            : "it could not prove the cluster token (Collectives:Token differs between the two processes)";
    }

    /// <summary>
    /// The listener's side: checks the dialer's token proof, then that its hello is <paramref name="expected"/>, then asks
    /// <paramref name="refusal"/> (e.g. "already connected") before sending the proof that tells the dialer it is accepted.
    /// <paramref name="heard"/> runs once the dialer's whole message is in (a real dialer sends it at once after the
    /// greeting). Returns null when accepted, else the reason, which was also sent to the dialer.
    /// </summary>
    public static async Task<string?> AcceptAsync(
        Stream stream, DataPlaneHello expected, string? token, Func<string?> refusal, Action heard, CancellationToken cancellationToken)
    {
        var listenerNonce = RandomNumberGenerator.GetBytes(NonceBytes);
        await stream.WriteAsync(Concat(Magic, listenerNonce), cancellationToken).ConfigureAwait(false);

        var head = new byte[Magic.Length + NonceBytes];
        await stream.ReadExactlyAsync(head, cancellationToken).ConfigureAwait(false);
        if (ProtocolMismatch(head, "the dialer") is { } mismatch)
        {
            return mismatch;
        }

        var dialerNonce = head[Magic.Length..];
        var (claimed, helloBytes) = await DataPlaneHello.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
        var mac = new byte[MacBytes];
        await stream.ReadExactlyAsync(mac, cancellationToken).ConfigureAwait(false);
        heard();

        // Token first: a peer without it learns nothing about which ring listens here.
        var reason = CryptographicOperations.FixedTimeEquals(mac, Mac(token, ClientLabel, listenerNonce, dialerNonce, helloBytes))
            ? expected.Mismatch(claimed) ?? refusal()
            : "wrong cluster token proof (Collectives:Token differs between the two processes)";
        if (reason is not null)
        {
            await RefuseAsync(stream, reason, cancellationToken).ConfigureAwait(false);
            return reason;
        }

        var proof = Mac(token, ServerLabel, dialerNonce, listenerNonce, helloBytes);
        await stream.WriteAsync(Concat([0], proof), cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>Tells the dialer why it is turned away; the listener closes the connection after.</summary>
    private static async Task RefuseAsync(Stream stream, string reason, CancellationToken cancellationToken)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        var length = (ushort)Math.Min(text.Length, ushort.MaxValue);
        await stream.WriteAsync(Concat([1, (byte)length, (byte)(length >> 8)], text[..length]), cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string> ReadReasonAsync(Stream stream, CancellationToken cancellationToken)
    {
        var length = new byte[2];
        await stream.ReadExactlyAsync(length, cancellationToken).ConfigureAwait(false);
        var text = new byte[length[0] | (length[1] << 8)];
        await stream.ReadExactlyAsync(text, cancellationToken).ConfigureAwait(false);
        return Encoding.UTF8.GetString(text);
    }

    private static string? ProtocolMismatch(byte[] received, string who)
    {
        var magic = received.AsSpan(0, Magic.Length);
        if (magic.SequenceEqual(Magic))
        {
            return null;
        }

        return magic[..^1].SequenceEqual(Magic.AsSpan(0, Magic.Length - 1))
            ? $"{who} speaks data-plane protocol version {(char)magic[^1]} but this process speaks {(char)Magic[^1]} (run the same SegCluster version on every node)"
            : $"{who} does not speak the SegCluster data-plane protocol";
    }

    private static byte[] Mac(string? token, byte[] label, byte[] first, byte[] second, byte[] hello) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(token ?? string.Empty), Concat(label, first, second, hello));

    private static byte[] Concat(params byte[][] parts)
    {
        var result = new byte[parts.Sum(p => p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }

        return result;
    }
}
