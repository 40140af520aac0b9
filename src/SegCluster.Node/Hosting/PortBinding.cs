using System.Net;
using System.Net.Sockets;

namespace SegCluster.Node.Hosting;

/// <summary>A node start that failed on a taken port: recognising it however Kestrel or Orleans wrapped the bind error,
/// and probing which port it was, so the CLI names the port and its flag instead of printing a stack trace.</summary>
public static class PortBinding
{
    /// <summary>A bind that failed because the port is taken, however Kestrel or Orleans wrapped it.</summary>
    public static bool IsAddressInUse(Exception? e) => e switch
    {
        null => false,
        Microsoft.AspNetCore.Connections.AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsAddressInUse),
        _ => IsAddressInUse(e.InnerException),
    };

    /// <summary>Whether <paramref name="port"/> can be bound on loopback now (a port held on any address cannot).</summary>
    public static bool IsFree(int port)
    {
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return false;
        }
    }
}
