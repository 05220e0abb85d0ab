using System.Collections.Concurrent;
using System.Text;
using System.Xml.Linq;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Xmpp.Tests;

public class ComponentConnectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static async Task<(FakeComponentServer Server, ComponentConnection Client)> ConnectAsync(TimeSpan? keepalive = null)
    {
        var server = new FakeComponentServer();
        var accepted = server.AcceptAsync();
        var client = await ComponentConnection.ConnectAsync(server.Options(keepalive: keepalive));
        Assert.True(await accepted);
        Assert.Equal(FakeComponentServer.StreamId, client.StreamId);
        return (server, client);
    }

    [Fact]
    public async Task Handshake_then_stanzas_split_in_odd_chunks_arrive_whole()
    {
        var (server, client) = await ConnectAsync();
        using var _ = server;
        var received = new ConcurrentQueue<XElement>();
        var run = client.RunAsync(received.Enqueue, _ => { });

        var stanzas = Enumerable.Range(0, 20).Select(i =>
            $"<message from='u{i}@s/r' to='room@{FakeComponentServer.Domain}' type='groupchat' id='{i}'>" +
            $"<body>ünïcödé 😀 &amp; {i}</body></message>").ToList();
        await server.SendInChunksAsync(string.Concat(stanzas) + "</stream:stream>", [1, 2, 3, 5, 7, 11, 13]);

        await run.WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i.ToString()), received.Select(m => m.Attribute("id")!.Value));
        Assert.All(received, m => Assert.Equal(Ns.Client + "message", m.Name));
        Assert.Equal("ünïcödé 😀 & 7", received.ElementAt(7).Element(Ns.Client + "body")!.Value);
        await server.ReadToEndAsync();
        Assert.True(server.ClientClosedStream);
    }

    [Fact]
    public async Task A_wrong_secret_fails_with_not_authorized()
    {
        using var server = new FakeComponentServer();
        var accepted = server.AcceptAsync();
        var error = await Assert.ThrowsAsync<StreamErrorReceivedException>(() =>
            ComponentConnection.ConnectAsync(server.Options(secret: "wrong")));
        Assert.Equal(StreamErrorCondition.NotAuthorized, error.Condition);
        Assert.False(await accepted);
    }

    [Fact]
    public async Task A_stream_error_ends_the_run_with_its_condition()
    {
        var (server, client) = await ConnectAsync();
        using var _ = server;
        var run = client.RunAsync(_ => { }, _ => { });
        await server.SendAsync("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
                               "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>replaced</text></stream:error></stream:stream>");
        var error = await Assert.ThrowsAsync<StreamErrorReceivedException>(() => run.WaitAsync(Timeout));
        Assert.Equal(StreamErrorCondition.Conflict, error.Condition);
        Assert.Equal("replaced", error.Text);
        await server.ReadToEndAsync();
        Assert.True(server.ClientClosedStream);
    }

    [Theory]
    [InlineData("<message><!-- sneaky --></message>", StreamErrorCondition.RestrictedXml)]
    [InlineData("<message><body>&xxe;</body></message>", StreamErrorCondition.RestrictedXml)]
    [InlineData("<message></presence>", StreamErrorCondition.NotWellFormed)]
    public async Task Broken_input_is_answered_with_a_stream_error_and_a_close(string xml, StreamErrorCondition condition)
    {
        var (server, client) = await ConnectAsync();
        using var _ = server;
        var delivered = 0;
        var run = client.RunAsync(_ => delivered++, _ => { });
        await server.SendAsync("<message id='ok'/>" + xml);

        var error = await Assert.ThrowsAsync<XmppStreamException>(() => run.WaitAsync(Timeout));
        Assert.Equal(condition, error.Condition);
        Assert.Equal(1, delivered);
        await server.ReadToEndAsync().WaitAsync(Timeout);
        var streamError = Assert.Single(server.Received);
        Assert.Equal(Ns.Streams + "error", streamError.Name);
        Assert.Equal(Ns.StreamErrors + condition.ElementName(), streamError.Elements().First().Name);
        Assert.True(server.ClientClosedStream);
    }

    [Fact]
    public async Task Ten_thousand_sends_arrive_intact_and_in_order()
    {
        var (server, client) = await ConnectAsync();
        using var _ = server;
        const int count = 10_000;
        var sender = Task.Run(() =>
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(client.Send(new XElement(Ns.Client + "message", new XAttribute("to", $"u{i}@s"),
                    new XAttribute("id", i), new XElement(Ns.Client + "body", $"message <{i}> & ü"))));
            }
        });
        Assert.True(await server.ReadUntilAsync(() => server.Received.Count == count).WaitAsync(Timeout));
        await sender;
        for (var i = 0; i < count; i++)
        {
            var message = server.Received[i];
            Assert.Equal(i.ToString(), message.Attribute("id")!.Value);
            Assert.Equal($"message <{i}> & ü", message.Element(Ns.Client + "body")!.Value);
        }
        await client.DisposeAsync();
    }

    [Fact]
    public async Task Broadcasts_splice_each_recipient()
    {
        var (server, client) = await ConnectAsync();
        using var _ = server;
        var rendered = RenderedStanza.Render(new XElement(Ns.Client + "message", new XAttribute("type", "groupchat"),
            new XElement(Ns.Client + "body", "to all")));
        string[] recipients = ["a@s/1", "b@s/2", "c@s/3"];
        Assert.True(client.Send(rendered, recipients));
        Assert.True(client.Send(rendered, "d@s/4"));
        Assert.True(await server.ReadUntilAsync(() => server.Received.Count == 4).WaitAsync(Timeout));
        Assert.Equal(["a@s/1", "b@s/2", "c@s/3", "d@s/4"], server.Received.Select(m => m.Attribute("to")!.Value));
        await client.DisposeAsync();
    }

    [Fact]
    public async Task An_idle_connection_sends_whitespace_keepalives()
    {
        var (server, client) = await ConnectAsync(keepalive: TimeSpan.FromMilliseconds(100));
        using var _ = server;
        var readUntilTwoSpaces = server.ReadUntilAsync(() => server.RawAfterHandshake.Length >= 2);
        Assert.True(await readUntilTwoSpaces.WaitAsync(Timeout));
        Assert.Equal("  ", Encoding.UTF8.GetString(server.RawAfterHandshake.ToArray()));
        await client.DisposeAsync();
    }

    [Fact]
    public async Task Close_sends_the_stream_end_and_the_run_completes_when_the_server_answers()
    {
        var (server, client) = await ConnectAsync();
        using var _ = server;
        var run = client.RunAsync(_ => { }, _ => { });
        var close = client.CloseAsync();
        Assert.True(await server.ReadUntilAsync(() => server.ClientClosedStream).WaitAsync(Timeout));
        await server.SendAsync("</stream:stream>");
        await close.WaitAsync(Timeout);
        await run.WaitAsync(Timeout);
        Assert.False(client.Send(new XElement(Ns.Client + "message")));
    }

    [Fact]
    public async Task A_dropped_connection_fails_the_run()
    {
        var (server, client) = await ConnectAsync();
        var run = client.RunAsync(_ => { }, _ => { });
        server.Dispose();
        await Assert.ThrowsAnyAsync<IOException>(() => run.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Nobody_listening_fails_the_connect()
    {
        var server = new FakeComponentServer();
        var options = server.Options();
        server.Dispose();
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => ComponentConnection.ConnectAsync(options));
    }
}
