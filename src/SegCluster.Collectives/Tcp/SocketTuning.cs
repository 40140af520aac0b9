using System.Net.Sockets;

namespace SegCluster.Collectives.Tcp;

/// <summary>Socket settings of a data connection, applied the same way on both ends.</summary>
internal static class SocketTuning
{
    public static void Apply(Socket socket)
    {
        // Frame headers are small writes followed by the payload: never hold them back (Nagle).
        socket.NoDelay = true;
    }
}
