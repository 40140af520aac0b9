namespace SegCluster.Cluster.Sweeps.Search;

public enum AshaDecision { Continue, Stop }
