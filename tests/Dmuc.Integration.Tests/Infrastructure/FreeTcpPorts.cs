using System.Net;
using System.Net.Sockets;

namespace Dmuc.Integration.Tests.Infrastructure;

public static class FreeTcpPorts
{
    /// <summary>
    /// Distinct free loopback ports, taken below Linux's ephemeral range (32768 and up): a port the OS hands out
    /// there is free only until an outgoing connection lands on it, which on a busy test run happened between
    /// picking a management port and binding it. All listeners stay open until every port is picked, so the same
    /// port cannot be handed out twice; another process may still grab one before it is used.
    /// </summary>
    public static IReadOnlyList<int> Pick(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var attempt = 0; listeners.Count < count; attempt++)
            {
                if (attempt == 1000) throw new InvalidOperationException($"Found no {count} free ports below 32768.");
                if (TryListen(Random.Shared.Next(10_000, 32_768)) is { } listener) listeners.Add(listener);
            }
            return listeners.Select(listener => ((IPEndPoint)listener.LocalEndpoint).Port).ToList();
        }
        finally
        {
            listeners.ForEach(listener => listener.Stop());
        }
    }

    public static async Task<bool> AcceptsConnectionsAsync(int port, CancellationToken cancellationToken)
    {
        using var probe = new TcpClient();
        try
        {
            await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// A base port whose next <paramref name="count"/> ports are all free, for a setup that derives its ports from
    /// one base. Taken below Linux's ephemeral range (32768 and up), where outgoing connections do not land.
    /// </summary>
    public static int PickFreeRange(int count)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var basePort = Random.Shared.Next(10_000, 32_768 - count);
            if (Enumerable.Range(basePort, count).All(IsFree))
            {
                return basePort;
            }
        }
        throw new InvalidOperationException($"Found no {count} consecutive free ports below 32768.");
    }

    private static bool IsFree(int port)
    {
        var listener = TryListen(port);
        listener?.Stop();
        return listener is not null;
    }

    private static TcpListener? TryListen(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return listener;
        }
        catch (SocketException)
        {
            listener.Stop();
            return null;
        }
    }
}
