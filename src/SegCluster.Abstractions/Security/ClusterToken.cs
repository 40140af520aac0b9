using System.Security.Cryptography;
using System.Text;

namespace SegCluster.Abstractions.Security;

/// <summary>
/// The shared secret of a cluster. Carried as <c>authorization: Bearer …</c> on HTTP and gRPC, and in the
/// Orleans request context (<see cref="RequestContextKey"/>) of every grain call. Never logged.
/// </summary>
public static class ClusterToken
{
    public const string RequestContextKey = "segcluster-token";
    public const string BearerPrefix = "Bearer ";

    /// <summary>Constant-time comparison, so response timing does not reveal a prefix of the token.</summary>
    public static bool Matches(string? presented, string expected) =>
        presented is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));

    /// <summary>The token of an "authorization: Bearer T" header value, or null.</summary>
    public static string? FromBearer(string? header) =>
        header is not null && header.StartsWith(BearerPrefix, StringComparison.Ordinal) ? header[BearerPrefix.Length..] : null;
}
