using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Dmuc.Xmpp.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Dmuc.Actors.Tests;

public sealed class ComponentOutboxTests
{
    [Fact]
    public void While_the_stream_is_down_the_queue_keeps_the_newest_stanzas_within_its_byte_budget()
    {
        const int budget = 10_000;
        var outbox = new ComponentOutbox(NullLogger<ComponentOutbox>.Instance, maxQueuedBytes: budget);
        var message = new XElement(Ns.Client + "message", new XElement(Ns.Client + "body", new string('a', 1_000)));
        var stanzaBytes = RenderedStanza.Render(message).GetByteCount("u@s/r");

        for (var i = 0; i < 50; i++)
        {
            outbox.Send([new Delivery(Jid.Parse("u@s/r"), message)]);
            Assert.InRange(outbox.QueuedBytes, 0, budget);
        }
        Assert.Equal(budget / stanzaBytes * stanzaBytes, outbox.QueuedBytes);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Through_a_multicast_route_messages_and_presence_to_the_hosts_users_leave_as_blind_copies_within_the_limit(bool inOrder)
    {
        await using var stream = await OutboxOnStream.StartAsync(maxAddresses: 2, inOrder);
        var (server, connection, outbox) = (stream.Server, stream.Connection, stream.Outbox);
        var broadcast = new XElement(Ns.Client + "message", new XAttribute("type", "groupchat"), new XElement(Ns.Client + "body", "all"));
        var whisper = new XElement(Ns.Client + "message", new XAttribute("type", "chat"), new XElement(Ns.Client + "body", "one"));
        var answer = new XElement(Ns.Client + "iq", new XAttribute("type", "result"), new XAttribute("id", "q1"));

        outbox.Send([
            new Delivery(Jid.Parse("a@h/1"), broadcast), new Delivery(Jid.Parse("b@h/2"), broadcast), new Delivery(Jid.Parse("c@h/3"), broadcast),
            new Delivery(Jid.Parse("far@elsewhere/x"), broadcast), new Delivery(Jid.Parse("e@h/5"), whisper), new Delivery(Jid.Parse("e@h/5"), answer),
        ]);

        // Users of other hosts and IQs (not XEP-0033's) go direct; a lone recipient's message too where the service keeps
        // the stream's order, else through the service, so that it cannot overtake the broadcast.
        Assert.True(await server.ReadUntilAsync(() => server.Received.Count == 5).WaitAsync(TimeSpan.FromSeconds(10)));
        XNamespace address = MulticastDiscovery.AddressFeature;
        Assert.Equal([
                ("far@elsewhere/x", "message", "all"),
                ("multicast.h", "message", "all a@h/1 b@h/2"),
                ("multicast.h", "message", "all c@h/3"),
                inOrder ? ("e@h/5", "message", "one") : ("multicast.h", "message", "one e@h/5"),
                ("e@h/5", "iq", ""),
            ],
            server.Received.Select(stanza => ((string)stanza.Attribute("to")!, stanza.Name.LocalName,
                string.Join(" ", stanza.Elements(Ns.Client + "body").Select(body => body.Value)
                    .Concat(stanza.Descendants(address + "address").Select(bcc => bcc.Attribute("jid")!.Value))))));
        Assert.All(server.Received.SelectMany(stanza => stanza.Descendants(address + "address")), bcc => Assert.Equal("bcc", (string?)bcc.Attribute("type")));

        outbox.Detach(connection);
        Assert.Null(outbox.Multicast);
    }
    [Fact]
    public async Task Where_the_service_announced_the_compact_form_the_recipients_leave_as_one_list_and_the_next_stream_waits_for_its_own_discovery()
    {
        await using var compact = await OutboxOnStream.StartAsync(maxAddresses: 2, inOrder: true, RecipientListForm.Compact);
        var outbox = compact.Outbox;
        var broadcast = new XElement(Ns.Client + "message", new XAttribute("type", "groupchat"), new XElement(Ns.Client + "body", "all"));
        Delivery[] toEveryone = [new(Jid.Parse("a@h/1"), broadcast), new(Jid.Parse("b@h/2"), broadcast), new(Jid.Parse("c@h/3"), broadcast)];
        XNamespace address = MulticastDiscovery.AddressFeature, list = MulticastDiscovery.CompactFeature;
        string Recipients(XElement stanza) => string.Join(" ", stanza.Descendants(address + "address").Select(bcc => bcc.Attribute("jid")!.Value)
            .Concat(stanza.Elements(list + "recipients").Select(recipients => "[" + recipients.Value.Replace('\t', ',') + "]")));

        outbox.Send(toEveryone);
        Assert.True(await compact.Server.ReadUntilAsync(() => compact.Server.Received.Count == 2).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal([("multicast.h", "[a@h/1,b@h/2]"), ("multicast.h", "[c@h/3]")],
            compact.Server.Received.Select(stanza => ((string)stanza.Attribute("to")!, Recipients(stanza))));

        // A new stream (the server may have been replaced by one without the module's compact form): one stanza per
        // recipient until its discovery finds a service, then that service's form.
        await using var next = await OutboxOnStream.StartAsync(maxAddresses: 2, inOrder: true, listForm: null, outbox);
        outbox.Send(toEveryone);
        next.Outbox.UseMulticast(next.Connection, new MulticastRoute("multicast.h", "h", 2, InOrder: true));
        outbox.Send(toEveryone);
        Assert.True(await next.Server.ReadUntilAsync(() => next.Server.Received.Count == 5).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal([("a@h/1", ""), ("b@h/2", ""), ("c@h/3", ""), ("multicast.h", "a@h/1 b@h/2"), ("multicast.h", "c@h/3")],
            next.Server.Received.Select(stanza => ((string)stanza.Attribute("to")!, Recipients(stanza))));
    }

    /// <summary>
    /// What a room gathered over several joins: the roster presence of one occupant to each entrant, equal bytes in
    /// separate elements, leaves as one multicast; a view that differs (a moderator's, with the real JID) goes apart;
    /// and each entrant still gets the roster before its own self-presence.
    /// </summary>
    [Fact]
    public async Task Equal_stanzas_of_gathered_decisions_leave_as_one_multicast_and_differing_views_apart()
    {
        await using var stream = await OutboxOnStream.StartAsync(maxAddresses: 10, inOrder: true);
        var (server, outbox) = (stream.Server, stream.Outbox);
        XElement Presence(string from, string? jid, string? code = null) => new(Ns.Client + "presence", new XAttribute("from", from),
            new XElement(Ns.MucUser + "x", new XElement(Ns.MucUser + "item", new XAttribute("role", "participant"), jid is null ? null : new XAttribute("jid", jid)),
                code is null ? null : new XElement(Ns.MucUser + "status", new XAttribute("code", code))));
        Delivery To(string jid, XElement stanza) => new(Jid.Parse(jid), stanza);

        outbox.Send([
            To("e1@h/1", Presence("r@c/nurse", null)), To("e1@h/1", Presence("r@c/e1", "e1@h/1", "110")),
            To("m@h/1", Presence("r@c/nurse", "nurse@h/1")), To("m@h/1", Presence("r@c/m", "m@h/1", "110")),
            To("e2@h/1", Presence("r@c/nurse", null)), To("e2@h/1", Presence("r@c/e2", "e2@h/1", "110")),
        ]);

        Assert.True(await server.ReadUntilAsync(() => server.Received.Count == 5).WaitAsync(TimeSpan.FromSeconds(10)));
        XNamespace address = MulticastDiscovery.AddressFeature;
        Assert.Equal([
                ("multicast.h", "r@c/nurse", "", "e1@h/1 e2@h/1"),
                ("e1@h/1", "r@c/e1", "e1@h/1", ""),
                ("m@h/1", "r@c/nurse", "nurse@h/1", ""),
                ("m@h/1", "r@c/m", "m@h/1", ""),
                ("e2@h/1", "r@c/e2", "e2@h/1", ""),
            ],
            server.Received.Select(stanza => ((string)stanza.Attribute("to")!, (string)stanza.Attribute("from")!,
                (string?)stanza.Descendants(Ns.MucUser + "item").Single().Attribute("jid") ?? "",
                string.Join(" ", stanza.Descendants(address + "address").Select(bcc => bcc.Attribute("jid")!.Value)))));
    }

    /// <summary>An outbox on a component stream to a fake server, multicasting to users of h through multicast.h.</summary>
    private sealed class OutboxOnStream(FakeComponentServer server, ComponentConnection connection, ComponentOutbox outbox) : IAsyncDisposable
    {
        public FakeComponentServer Server { get; } = server;
        public ComponentConnection Connection { get; } = connection;
        public ComponentOutbox Outbox { get; } = outbox;

        /// <param name="listForm">The route's; null: no route yet (discovery has not answered).</param>
        /// <param name="outbox">An outbox whose previous stream this one replaces; null: a new one.</param>
        public static async Task<OutboxOnStream> StartAsync(int maxAddresses, bool inOrder,
            RecipientListForm? listForm = RecipientListForm.BlindCopies, ComponentOutbox? outbox = null)
        {
            var server = new FakeComponentServer();
            var connecting = ComponentConnection.ConnectAsync(server.Options());
            Assert.True(await server.AcceptAsync());
            var stream = new OutboxOnStream(server, await connecting, outbox ?? new ComponentOutbox(NullLogger<ComponentOutbox>.Instance));
            stream.Outbox.Attach(stream.Connection);
            if (listForm is { } form)
                stream.Outbox.UseMulticast(stream.Connection, new MulticastRoute("multicast.h", "h", maxAddresses, inOrder, form));
            return stream;
        }

        public async ValueTask DisposeAsync()
        {
            await Connection.DisposeAsync();
            Server.Dispose();
        }
    }
}
