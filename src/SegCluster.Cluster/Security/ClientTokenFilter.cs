using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Security;
using SegCluster.Cluster.Nodes;

namespace SegCluster.Cluster.Security;

/// <summary>
/// With Node:Token set, every grain call a silo receives must carry the token in its request context, whoever sent it:
/// a client (the CLI, through a gateway), another silo, Orleans' own system targets (silo control, membership, directory,
/// grain services) as well as SegCluster's grains. Otherwise it is refused before the target runs, so nothing changes.
/// </summary>
/// <remarks>
/// Why not "check clients, trust silos": a silo cannot tell them apart. The sending grain id is written by the sender
/// and the gateway forwards it unchecked (a client can name any grain as its source, or none), and it stamps its own
/// address as the sending silo. So the silos send the token too: <see cref="ClusterTokenCallFilter"/> is registered as
/// an outgoing filter on every node and adds it to each call a silo makes, its system targets' calls included (they go
/// through grain references, hence the filter). Cheap: a few dozen bytes of request context per call; gradients travel
/// over the collective, not grain calls. All nodes of a cluster share Node:Token already.
/// Two exemptions, both measured by logging every call that arrived without the token while a token-less client, a
/// wrong-token client and a 2-node training run went through a cluster:
/// <list type="bullet">
/// <item>the cluster manifest (<c>sys.svc.manifest</c>, read-only grain and interface types): the only target a client
/// calls while connecting, before a call of its own can be refused with a message that says what to set;</item>
/// <item>the runtime's own timer ticks (<c>IGrainTimerInvoker</c>), which start with an empty request context by design.
/// They are created in-process: the request object is its own target, which no invokable deserialised from the wire
/// is (its target is the grain, set by the runtime).</item>
/// </list>
/// </remarks>
public sealed class ClientTokenFilter(IOptions<NodeOptions> node) : IIncomingGrainCallFilter
{
    private static readonly GrainType ClusterManifest = SystemTargetGrainId.CreateGrainType("manifest");
    private const string TimerInvoker = "Orleans.Runtime.IGrainTimerInvoker";

    public Task Invoke(IIncomingGrainCallContext context)
    {
        var token = node.Value.Token;
        if (string.IsNullOrEmpty(token) || IsExempt(context))
            return context.Invoke();
        var presented = RequestContext.Get(ClusterToken.RequestContextKey) as string;
        if (!ClusterToken.Matches(presented, token))
            // The caller knows whether it sent a token, so telling the two apart reveals nothing about the token.
            throw new UnauthorizedAccessException(presented is null
                ? $"Permission denied: {context.InterfaceMethod?.Name} needs the cluster token and none was given; set SEGCLUSTER_TOKEN (or --token) to the nodes' Node:Token."
                : $"Permission denied: the cluster token was refused ({context.InterfaceMethod?.Name}); SEGCLUSTER_TOKEN (or --token) must equal the nodes' Node:Token.");
        return context.Invoke();
    }

    private static bool IsExempt(IIncomingGrainCallContext context) =>
        context.TargetId.Type.Equals(ClusterManifest)
        || (context.InterfaceMethod?.DeclaringType?.FullName == TimerInvoker && ReferenceEquals(context.Request.GetTarget(), context.Request));
}
