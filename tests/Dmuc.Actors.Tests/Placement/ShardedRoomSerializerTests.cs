using Akka.Actor;
using Akka.Configuration;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Actors.Tests.Placement;

/// <summary>What primary-capable nodes send each other about sharded rooms (<see cref="RoomPlacement.Sharded"/>) arrives as it left.</summary>
public sealed class ShardedRoomSerializerTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("route", ConfigurationFactory.ParseString(RoomShards.Hocon));

    [Fact]
    public void A_routed_stanza_keeps_its_stanza_its_creation_verdict_its_relay_and_its_stream_receipt()
    {
        var stream = _system.ActorOf(Props.Empty, "component");
        var stanza = XmppParse("<message xmlns='jabber:client' from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc' type='groupchat' id='m1'><body>a &lt; b</body></message>");
        var routes = new[]
        {
            new RouteStanza(stanza),
            new RouteStanza(stanza, new RoomCreationDenied("wait", "too fast"), CreationReserved: false),
            new RouteStanza(stanza, CreationReserved: true, Relayed: new RelayedBy("killrc.oulubox.irc", new ForwardNumber("s-1", 7, 5))),
            new RouteStanza(stanza, Relayed: new RelayedBy("killrc.oulubox.irc", new ForwardNumber("s-2", 1, 0), Resent: true)),
            new RouteStanza(stanza, Receipt: new StreamReceipt(stream, Connection: 3, Number: 42, Resent: true)),
        };
        foreach (var route in routes)
        {
            var copy = RoundTrip(route);
            Assert.Equal(route.Stanza.ToString(), copy.Stanza.ToString());
            Assert.Equal(route with { Stanza = copy.Stanza }, copy);
        }
    }

    [Fact]
    public void A_listing_a_settled_creation_and_the_index_answer_arrive_as_they_left()
    {
        var listing = new RoomListingChanged(Jid.Parse("wallops@channel.avalon.irc"), "Wallops <&>", 3, IsPublic: true, Exists: true, IsPersistent: false);
        Assert.Equal(listing, RoundTrip(listing));
        Assert.Same(ListIndexedRooms.Instance, RoundTrip(ListIndexedRooms.Instance));
        Assert.Same(RoomIndexUnavailable.Instance, RoundTrip(RoomIndexUnavailable.Instance));
        var settled = new RoomCreationSettled(Jid.Parse("wallops@channel.avalon.irc"), Created: true);
        Assert.Equal(settled, RoundTrip(settled));

        var index = new RoomIndexRecovered([new IndexedRoom("a@channel.avalon.irc", "A", true), new IndexedRoom("b@channel.avalon.irc", "", false)],
            ["b@channel.avalon.irc", "c@channel.avalon.irc"]);
        var copy = RoundTrip(index);
        Assert.Equal(index.Rooms, copy.Rooms);
        Assert.Equal(index.OccupiedRooms, copy.OccupiedRooms);
        Assert.Null(RoundTrip(index with { OccupiedRooms = null }).OccupiedRooms);
    }

    [Fact]
    public void The_operators_questions_and_commands_to_a_room_on_another_node_and_their_answers_arrive_as_they_left()
    {
        var room = Jid.Parse("wallops@channel.avalon.irc");
        Assert.Equal(new InspectRoom(room), RoundTrip(new InspectRoom(room)));
        Assert.Equal(new KickOccupantAsAdmin(room, "Wumpus", "spam <&>"), RoundTrip(new KickOccupantAsAdmin(room, "Wumpus", "spam <&>")));
        Assert.Equal(new KickOccupantAsAdmin(room, "Wumpus", null), RoundTrip(new KickOccupantAsAdmin(room, "Wumpus", null)));
        Assert.Equal(new AdminKickDone(room, "Wumpus", AdminKickOutcome.NoSuchOccupant), RoundTrip(new AdminKickDone(room, "Wumpus", AdminKickOutcome.NoSuchOccupant)));
        Assert.Equal(new DestroyRoomAsAdmin(room, null), RoundTrip(new DestroyRoomAsAdmin(room, null)));
        Assert.Equal(new AdminDestroyDone(room, true), RoundTrip(new AdminDestroyDone(room, true)));

        var inspection = new RoomInspection(room, Exists: true, "Wallops",
            [new OccupantSessionView("Wumpus", Jid.Parse("argl@killrc.oulubox.irc/laptop"), Role.Moderator, Affiliation.Owner)],
            [new HistoryEntry("<message xmlns='jabber:client' type='groupchat'><body>a &lt; b</body></message>", Jid.Parse("argl@killrc.oulubox.irc"),
                "Wumpus", new DateTimeOffset(2026, 12, 5, 8, 0, 0, 125, TimeSpan.Zero), "id-1")],
            42,
            [new ReplicaLink.LinkInspection("killrc.oulubox.irc", 7, "akka.tcp://dmuc@127.0.0.1:2", LinkState.Split,
                DateTimeOffset.UnixEpoch, TimeSpan.FromMilliseconds(1.5), null, 2)],
            new Address("akka.ssl.tcp", "dmuc", "127.0.0.1", 4053),
            [new DeliveryReceipt(room, "killrc.oulubox.irc", "id-1", [Jid.Parse("argl@killrc.oulubox.irc/laptop")])]);
        var copy = RoundTrip(inspection);
        Assert.Equal(inspection.Sessions, copy.Sessions);
        Assert.Equal(inspection.History, copy.History);
        Assert.Equal(inspection.Links, copy.Links);
        Assert.Equal(inspection.Node, copy.Node);
        Assert.True(inspection.Receipts!.Single().SameAs(copy.Receipts!.Single()));
        Assert.Equal(inspection with { Sessions = copy.Sessions, History = copy.History, Links = copy.Links, Receipts = copy.Receipts }, copy);
        Assert.Null(RoundTrip(inspection with { Receipts = null }).Receipts);
    }

    [Fact]
    public void A_relay_keeps_its_recipients_in_order_and_each_stanza_once_for_all_it_reaches()
    {
        var broadcast = XmppParse("<message xmlns='jabber:client' from='wallops@channel.avalon.irc/Wumpus' type='groupchat'><body>hi</body></message>");
        var moderatorsPresence = XmppParse("<presence xmlns='jabber:client' from='wallops@channel.avalon.irc/WiZ'><x xmlns='http://jabber.org/protocol/muc#user'><item jid='squit@eris.dclxvii.irc/x'/></x></presence>");
        var presence = XmppParse("<presence xmlns='jabber:client' from='wallops@channel.avalon.irc/WiZ'/>");
        IReadOnlyList<Delivery> deliveries =
        [
            new(Jid.Parse("alice@avalon.irc/a"), broadcast), new(Jid.Parse("bob@avalon.irc/b"), broadcast),
            new(Jid.Parse("alice@avalon.irc/a"), moderatorsPresence), new(Jid.Parse("bob@avalon.irc/b"), presence),
            new(Jid.Parse("admin@avalon.irc/c"), moderatorsPresence),
        ];
        var copy = RoundTrip(new RelayedDeliveries("session-1", 9, deliveries));
        Assert.Equal(("session-1", 9L), (copy.Session, copy.Number));
        Assert.Equal(deliveries.Select(delivery => (delivery.To, delivery.Stanza.ToString())), copy.Deliveries.Select(delivery => (delivery.To, delivery.Stanza.ToString())));
        Assert.Same(copy.Deliveries[0].Stanza, copy.Deliveries[1].Stanza);
        Assert.Same(copy.Deliveries[2].Stanza, copy.Deliveries[4].Stanza);
        Assert.NotSame(copy.Deliveries[2].Stanza, copy.Deliveries[3].Stanza);
        Assert.Equal(new RelayedDeliveriesWritten("session-1", 9), RoundTrip(new RelayedDeliveriesWritten("session-1", 9)));
    }

    private T RoundTrip<T>(T message) where T : notnull
    {
        var serializer = Assert.IsType<ShardedRoomSerializer>(_system.Serialization.FindSerializerFor(message));
        return (T)_system.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, serializer.Manifest(message));
    }

    private static System.Xml.Linq.XElement XmppParse(string xml) => System.Xml.Linq.XElement.Parse(xml);

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));
}
