namespace SegCluster.Collectives;

/// <summary>
/// The members of one ring. <c>Endpoints[rank]</c> is the base address of the process hosting that
/// rank (e.g. <c>http://127.0.0.1:5123</c>); several ranks may share one process and endpoint.
/// </summary>
/// <remarks>
/// Contract: <see cref="GroupId"/> must be unique per ring formation (include an epoch when a ring is
/// re-formed after a failure), because chunks are matched by group id and operation sequence
/// number, and a re-formed ring restarts its sequence at zero.
/// </remarks>
public sealed record RingGroup(string GroupId, IReadOnlyList<string> Endpoints)
{
    public int WorldSize => Endpoints.Count;

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending member.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(GroupId))
        {
            throw new ArgumentException("RingGroup.GroupId must be a non-empty string.", nameof(GroupId));
        }

        Tcp.DataPlaneHello.CheckGroupIdLength(System.Text.Encoding.UTF8.GetByteCount(GroupId));

        if (Endpoints is null || Endpoints.Count == 0)
        {
            throw new ArgumentException(
                $"RingGroup '{GroupId}': Endpoints must list one base address per rank; it is empty.",
                nameof(Endpoints));
        }

        for (var rank = 0; rank < Endpoints.Count; rank++)
        {
            var endpoint = Endpoints[rank];
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException(
                    $"RingGroup '{GroupId}': Endpoints[{rank}] = '{endpoint}' is not an absolute http(s) address " +
                    "such as 'http://127.0.0.1:5123'.",
                    nameof(Endpoints));
            }
        }
    }
}
