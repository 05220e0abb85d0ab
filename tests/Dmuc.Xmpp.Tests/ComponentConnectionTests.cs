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

    /// <summary>A connection whose output budget is <paramref name="budget"/>, cut once the server takes nothing for <paramref name="patience"/>.</summary>
    private static async Task<(FakeComponentServer Server, ComponentConnection Client)> ConnectAsync(int budget, TimeSpan patience)
    {
        var server = new FakeComponentServer();
        var accepted = server.AcceptAsync();
        var client = await ComponentConnection.ConnectAsync(new ComponentConnectionOptions
        {
            Host = "127.0.0.1", Port = server.Options().Port, Domain = FakeComponentServer.Domain, Secret = FakeComponentServer.Secret,
            MaxQueuedBytes = budget, DeadServerPatience = patience,
        });
        Assert.True(await accepted);
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
    public async Task A_stanza_over_a_limit_is_refused_and_the_stream_goes_on()
    {
        var (server, client) = await ConnectAsync();
        using var _ = server;
        var delivered = new ConcurrentQueue<XElement>();
        var refused = new ConcurrentQueue<RefusedStanza>();
        var run = client.RunAsync(delivered.Enqueue, refused.Enqueue);
        await server.SendAsync($"<message from='u@s/r' id='big' type='groupchat'><body>{new string('a', XmppStreamParser.DefaultMaxStanzaBytes)}</body></message>" +
                               "<message id='next'/></stream:stream>");

        await run.WaitAsync(Timeout);
        Assert.Equal("next", Assert.Single(delivered).Attribute("id")!.Value);
        var reply = StanzaError.ReplyToRefused(Assert.Single(refused))!;
        Assert.Equal(["error", "big", "u@s/r"], new[] { "type", "id", "to" }.Select(name => reply.Attribute(name)?.Value));
        Assert.Equal(Ns.Stanzas + "policy-violation", reply.Element(Ns.Client + "error")!.Elements().First().Name);
    }

    [Fact]
    public async Task A_server_that_stops_reading_is_over_budget_first_and_is_cut_only_once_it_took_nothing_for_the_patience_and_the_memory_goes_back()
    {
        const int budget = 1024 * 1024;
        var patience = TimeSpan.FromSeconds(1);
        var (server, client) = await ConnectAsync(budget, patience);
        using var _ = server;
        var stanza = new XElement(Ns.Client + "message", new XElement(Ns.Client + "body", new string('a', 64 * 1024)));

        // The server reads nothing more: the socket's buffers fill, then the queue goes over the budget (the node sheds
        // new work from then on), then past the dead-server limit: still not cut, as the server may yet read it.
        int? queuedWhenOverBudget = null;
        var deadServer = ComponentConnectionOptions.DeadServerFactor * budget;
        while (client.QueuedBytes <= deadServer + budget)
        {
            Assert.True(client.Send(stanza), $"cut at {client.QueuedBytes} bytes queued, before the server was idle for {patience}");
            if (client.IsOverBudget) queuedWhenOverBudget ??= client.QueuedBytes;
        }
        Assert.InRange(queuedWhenOverBudget ?? 0, budget + 1, budget + 2 * stanza.ToString().Length);

        // Only once the server has taken none of it for the patience is the stream cut.
        var started = DateTime.UtcNow;
        while (client.Send(new XElement(Ns.Client + "message")))
        {
            Assert.True(DateTime.UtcNow - started < Timeout, "the stream was never cut");
            await Task.Delay(50);
        }
        Assert.True(DateTime.UtcNow - started > patience / 2, "cut before the server had been idle for the patience");
        Assert.True(SpinWait.SpinUntil(() => client.BufferCapacity <= 2 * 16 * 1024, Timeout), $"{client.BufferCapacity} bytes kept");
        await client.DisposeAsync();
    }

    [Fact]
    public async Task A_server_far_behind_that_reads_again_within_the_patience_keeps_its_stream_and_gets_everything()
    {
        const int budget = 1024 * 1024;
        var (server, client) = await ConnectAsync(budget, TimeSpan.FromSeconds(10));
        using var _ = server;
        var stanza = new XElement(Ns.Client + "message", new XElement(Ns.Client + "body", new string('a', 64 * 1024)));
        var sent = 0;
        while (client.QueuedBytes <= (ComponentConnectionOptions.DeadServerFactor + 2) * budget)
        {
            Assert.True(client.Send(stanza), $"cut at {client.QueuedBytes} bytes queued");
            sent++;
        }

        Assert.True(await server.ReadUntilAsync(() => server.Received.Count == sent).WaitAsync(Timeout));
        Assert.True(client.Send(stanza));
    }

    [Fact]
    public async Task A_backlog_gives_its_memory_back_once_written()
    {
        var (server, client) = await ConnectAsync();
        using var _ = server;
        var stanza = new XElement(Ns.Client + "message", new XElement(Ns.Client + "body", new string('a', 64 * 1024)));
        const int count = 200; // 13 MB: more than the socket takes while the server is not reading
        for (var i = 0; i < count; i++) Assert.True(client.Send(stanza));
        Assert.True(client.BufferCapacity > 2 * 1024 * 1024, $"no backlog built up: {client.BufferCapacity} bytes");

        Assert.True(await server.ReadUntilAsync(() => server.Received.Count == count).WaitAsync(Timeout));
        Assert.True(SpinWait.SpinUntil(() => client.QueuedBytes == 0, Timeout));
        client.Send(stanza);
        Assert.True(SpinWait.SpinUntil(() => client.QueuedBytes == 0, Timeout));
        Assert.InRange(client.BufferCapacity, 0, 2 * 1024 * 1024);
        await client.DisposeAsync();
    }

    [Fact]
    public async Task Everything_queued_counts_as_written_only_once_the_socket_took_it_and_a_closed_connection_never_does()
    {
        var (server, client) = await ConnectAsync();
        using var _ = server;
        Assert.True(await client.AllQueuedWritten().WaitAsync(Timeout));
        var stanza = new XElement(Ns.Client + "message", new XElement(Ns.Client + "body", new string('a', 64 * 1024)));
        const int count = 200; // 13 MB: more than the socket takes while the server is not reading
        for (var i = 0; i < count; i++) Assert.True(client.Send(stanza));

        var written = client.AllQueuedWritten();
        Assert.False(written.IsCompleted);
        Assert.True(await server.ReadUntilAsync(() => server.Received.Count == count).WaitAsync(Timeout));
        Assert.True(await written.WaitAsync(Timeout));

        await client.DisposeAsync();
        Assert.False(await client.AllQueuedWritten().WaitAsync(Timeout));
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
