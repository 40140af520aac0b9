namespace SegCluster.Cluster.Nodes;

/// <summary>Nodes (silo names, the node ids of worker ids) by membership status.</summary>
public static class MembershipNodes
{
    /// <summary>The names of the members in <paramref name="status"/>.</summary>
    public static HashSet<string> InState(this ClusterMembershipSnapshot snapshot, SiloStatus status) =>
        [.. snapshot.Members.Values.Where(m => m.Status == status).Select(m => m.Name)];

    /// <summary>Nodes listed only as dead: a node restarted under the same name (a StatefulSet pod) is active again.</summary>
    public static HashSet<string> Lost(this ClusterMembershipSnapshot snapshot)
    {
        var dead = snapshot.InState(SiloStatus.Dead);
        dead.ExceptWith(snapshot.InState(SiloStatus.Active));
        return dead;
    }
}
