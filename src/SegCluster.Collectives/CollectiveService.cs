using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace SegCluster.Collectives;

/// <summary>
/// gRPC endpoint of the ring: validates a chunk, checks the cluster token, and parks the chunk in
/// this process's <see cref="CollectiveMailbox"/>, or records there that a local rank's predecessor gave an
/// operation up; for the TCP transport it is the rendezvous that names a local rank's data-plane port.
/// It never touches a rank's buffer itself.
/// </summary>
public sealed class CollectiveService : Collective.CollectiveBase
{
    public const string AuthorizationHeader = "authorization";
    public const string BearerPrefix = "Bearer ";

    private readonly CollectiveMailbox _mailbox;
    private readonly CollectiveOptions _options;

    public CollectiveService(CollectiveMailbox mailbox, IOptions<CollectiveOptions> options)
    {
        _mailbox = mailbox;
        _options = options.Value;
    }

    public override Task<DepositReply> Deposit(ChunkMessage request, ServerCallContext context)
    {
        // Authenticate before looking at the message, so a rejected call changes nothing.
        Authorize(context);

        if (string.IsNullOrEmpty(request.GroupId) || request.DestinationRank < 0 || request.Sequence < 0
            || request.Step < 0 || request.Chunk < 0 || request.Payload.Length % sizeof(float) != 0)
        {
            throw new RpcException(new Status(
                StatusCode.InvalidArgument,
                $"Malformed chunk for group '{request.GroupId}' rank {request.DestinationRank}: " +
                "group id must be set, indices non-negative, payload a whole number of floats."));
        }

        if (!_mailbox.Deposit(request))
        {
            throw new RpcException(new Status(
                StatusCode.FailedPrecondition,
                $"Rank {request.DestinationRank} of group '{request.GroupId}' is closed here, or chunk " +
                $"(sequence {request.Sequence}, step {request.Step}, chunk {request.Chunk}) was already delivered."));
        }

        return Task.FromResult(new DepositReply());
    }

    public override Task<AbortReply> Abort(AbortMessage request, ServerCallContext context)
    {
        Authorize(context);
        if (string.IsNullOrEmpty(request.GroupId) || request.SourceRank < 0 || request.DestinationRank < 0
            || request.OriginRank < 0 || request.Sequence < 0)
        {
            throw new RpcException(new Status(
                StatusCode.InvalidArgument,
                $"Malformed abort for group '{request.GroupId}' rank {request.DestinationRank}: group id must be set, ranks and sequence non-negative."));
        }

        // A rank closed here has nothing left to abort: the sender's best effort is done either way.
        _mailbox.Abort(request);
        return Task.FromResult(new AbortReply());
    }

    public override async Task<DataPlaneReply> LocateDataPlane(DataPlaneRequest request, ServerCallContext context)
    {
        Authorize(context);
        if (string.IsNullOrEmpty(request.GroupId) || request.Rank < 0 || request.Rank >= request.WorldSize)
        {
            throw new RpcException(new Status(
                StatusCode.InvalidArgument,
                $"Malformed data-plane request for group '{request.GroupId}': rank {request.Rank} must be in [0, world size {request.WorldSize})."));
        }

        // Bounded by this side's ConnectTimeout too (a rendezvous waits for a rank that may start late), so a caller
        // without a deadline cannot hold a handler forever.
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        wait.CancelAfter(_options.ConnectTimeout);
        try
        {
            var port = await _mailbox.DataPlane.LocateAsync(request.GroupId, request.Rank, wait.Token).ConfigureAwait(false);
            return new DataPlaneReply { Port = port };
        }
        catch (InvalidOperationException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(
                StatusCode.DeadlineExceeded,
                $"No ring of group '{request.GroupId}' rank {request.Rank} was created in this process within ConnectTimeout {_options.ConnectTimeout}."));
        }
    }

    private void Authorize(ServerCallContext context)
    {
        if (_options.Token is null)
        {
            return;
        }

        var header = context.RequestHeaders.GetValue(AuthorizationHeader);
        if (header is null || !header.StartsWith(BearerPrefix, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(
                StatusCode.Unauthenticated, "The collective service requires 'authorization: Bearer <cluster token>'."));
        }

        // Constant-time comparison so response timing does not reveal the token prefix.
        var presented = Encoding.UTF8.GetBytes(header[BearerPrefix.Length..]);
        var expected = Encoding.UTF8.GetBytes(_options.Token);
        if (!CryptographicOperations.FixedTimeEquals(presented, expected))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "The cluster token is wrong."));
        }
    }
}
