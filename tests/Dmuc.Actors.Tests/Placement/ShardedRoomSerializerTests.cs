using Akka.Actor;
using Akka.Configuration;
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
    public void A_routed_stanza_keeps_its_stanza_its_creation_verdict_and_its_relay()
    {
        var stanza = XmppParse("<message xmlns='jabber:client' from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc' type='groupchat' id='m1'><body>a &lt; b</body></message>");
        var routes = new[]
        {
            new RouteStanza(stanza),
            new RouteStanza(stanza, new RoomCreationDenied("wait", "too fast"), CreationReserved: false),
            new RouteStanza(stanza, CreationReserved: true, Relayed: new RelayedBy("killrc.oulubox.irc", new ForwardNumber("s-1", 7, 5))),
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

    private T RoundTrip<T>(T message) where T : notnull
    {
        var serializer = Assert.IsType<ShardedRoomSerializer>(_system.Serialization.FindSerializerFor(message));
        return (T)_system.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, serializer.Manifest(message));
    }

    private static System.Xml.Linq.XElement XmppParse(string xml) => System.Xml.Linq.XElement.Parse(xml);

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));
}
