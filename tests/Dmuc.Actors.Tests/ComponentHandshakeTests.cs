using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.TestKit.Xunit2;
using Dmuc.Actors.Component;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dmuc.Actors.Tests;

/// <summary>The component stream's actor against a stand-in XMPP server that answers when the test says.</summary>
public sealed class ComponentHandshakeTests : TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_stream_whose_handshake_completes_after_the_actor_stopped_is_closed_not_left_open_at_the_server()
    {
        // An actor system that shuts down to start again in its process stops this actor mid-handshake (chaos seed 7): a stream
        // left open is the component's for the server, which refused the next life's stream as a second one for 43 s.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var settings = new ComponentSettings("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port, "conference.localhost", "secret",
            TimeSpan.FromMinutes(1));
        var component = Sys.ActorOf(ComponentConnectionActor.Props(settings, TestActor, new ComponentOutbox(NullLogger<ComponentOutbox>.Instance),
            NullLogger.Instance));
        using var server = await listener.AcceptTcpClientAsync().WaitAsync(Patience);
        var stream = server.GetStream();
        await ReadUntilAsync(stream, "<stream:stream");

        Watch(component);
        Sys.Stop(component);
        ExpectTerminated(component);
        await stream.WriteAsync("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='conference.localhost' id='late'>"u8.ToArray());
        await ReadUntilAsync(stream, "</handshake>");
        await stream.WriteAsync("<handshake/>"u8.ToArray());

        Assert.Contains("</stream:stream>", await ReadUntilAsync(stream, "</stream:stream>"));
    }

    /// <summary>What the node writes until <paramref name="expected"/> has come, or all of it if the node closes its end first.</summary>
    private static async Task<string> ReadUntilAsync(NetworkStream stream, string expected)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (!text.ToString().Contains(expected, StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0) break;
            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        return text.ToString();
    }
}
