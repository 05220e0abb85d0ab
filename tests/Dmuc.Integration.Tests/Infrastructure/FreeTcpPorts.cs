using System.Net;
using System.Net.Sockets;

namespace Dmuc.Integration.Tests.Infrastructure;

public static class FreeTcpPorts
{
    // Tests run in parallel, and a port is free until its user binds it: one test's picked ports must never fall into
    // another's (a topology's range once took a port a fixture had picked, and its node could not bind). Never released:
    // a run hands out a few hundred of the 22,768.
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// Distinct free loopback ports, taken below Linux's ephemeral range (32768 and up): a port the OS hands out
    /// there is free only until an outgoing connection lands on it, which on a busy test run happened between
    /// picking a management port and binding it. All listeners stay open until every port is picked, so the same
    /// port cannot be handed out twice; no port is handed out twice in a test run; another process may still grab
    /// one before it is used.
    /// </summary>
    public static IReadOnlyList<int> Pick(int count)
    {
        var listeners = new List<TcpListener>();
        lock (HandedOut)
        {
            try
            {
                for (var attempt = 0; listeners.Count < count; attempt++)
                {
                    if (attempt == 1000) throw new InvalidOperationException($"Found no {count} free ports below 32768.");
                    var port = Random.Shared.Next(10_000, 32_768);
                    if (!HandedOut.Contains(port) && TryListen(port) is { } listener) listeners.Add(listener);
                }
                var ports = listeners.Select(listener => ((IPEndPoint)listener.LocalEndpoint).Port).ToList();
                HandedOut.UnionWith(ports);
                return ports;
            }
            finally
            {
                listeners.ForEach(listener => listener.Stop());
            }
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
    /// one base. Taken below Linux's ephemeral range (32768 and up), where outgoing connections do not land, and
    /// apart from every port handed out before in this test run.
    /// </summary>
    public static int PickFreeRange(int count)
    {
        lock (HandedOut)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                var range = Enumerable.Range(Random.Shared.Next(10_000, 32_768 - count), count).ToList();
                if (range.Any(HandedOut.Contains) || !range.All(IsFree)) continue;
                HandedOut.UnionWith(range);
                return range[0];
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
