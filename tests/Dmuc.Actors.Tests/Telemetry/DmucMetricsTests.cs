using System.Xml.Linq;
using Akka.Actor;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Telemetry;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Telemetry;

/// <summary>What the node's instruments record, measured with a listener on one <see cref="DmucMetrics"/> instance.</summary>
public sealed class DmucMetricsTests : IDisposable
{
    private static readonly Jid Room = Jid.Parse("wallops@channel.avalon.irc");
    private static readonly ReplicationSettings Settings = new(
        KeepaliveInterval: TimeSpan.FromSeconds(15), PingTimeout: TimeSpan.FromSeconds(10), SplitPingInterval: TimeSpan.FromSeconds(2));

    private readonly DmucMetrics _metrics = new();
    private readonly MeterRecorder _recorder;
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;

    public DmucMetricsTests() => _recorder = new MeterRecorder(_metrics.Meter);

    public void Dispose()
    {
        _recorder.Dispose();
        _metrics.Dispose();
    }

    [Fact]
    public void A_ping_answered_records_its_round_trip_for_its_end_of_the_link()
    {
        var keepalive = new LinkKeepalive(Settings, _metrics.TrackLink(Room, LinkEnd.Replica));
        var sentAt = _start + Settings.KeepaliveInterval;
        keepalive.Handle(new OtherEndHeard(_start));
        var id = keepalive.Ping(sentAt);
        keepalive.Handle(new PongArrived("ping-from-before", sentAt + TimeSpan.FromMilliseconds(10)));
        keepalive.Handle(new PongArrived(id, sentAt + TimeSpan.FromMilliseconds(30)));

        Assert.Equal([0.03], _recorder.Values("dmuc.ping.rtt", ("end", "replica")));
        Assert.Empty(_recorder.Values("dmuc.ping.rtt", ("end", "primary")));
    }

    [Fact]
    public void A_split_ended_by_a_netjoin_records_how_long_each_lasted()
    {
        var keepalive = new LinkKeepalive(Settings, _metrics.TrackLink(Room, LinkEnd.Primary));
        keepalive.Handle(new SplitFound("cut", _start));
        keepalive.Handle(new NetjoinUnderWay(_start + TimeSpan.FromSeconds(40)));
        keepalive.Handle(new NetjoinEnded(_start + TimeSpan.FromSeconds(41.5)));

        Assert.Equal([41.5], _recorder.Values("dmuc.netsplit.duration", ("end", "primary")));
        Assert.Equal([1.5], _recorder.Values("dmuc.netjoin.duration", ("end", "primary")));
    }

    [Fact]
    public void A_resync_without_a_split_records_only_the_netjoin()
    {
        var keepalive = new LinkKeepalive(Settings, _metrics.TrackLink(Room, LinkEnd.Replica));
        keepalive.Handle(new NetjoinUnderWay(_start));
        keepalive.Handle(new NetjoinEnded(_start + TimeSpan.FromMilliseconds(250)));

        Assert.Empty(_recorder.Values("dmuc.netsplit.duration"));
        Assert.Equal([0.25], _recorder.Values("dmuc.netjoin.duration", ("end", "replica")));
    }

    [Fact]
    public void The_link_gauge_counts_live_links_by_end_and_state_and_forgets_a_link_whose_actor_stopped()
    {
        var linked = new LinkKeepalive(Settings, _metrics.TrackLink(Room, LinkEnd.Primary));
        var split = new LinkKeepalive(Settings, _metrics.TrackLink(Room, LinkEnd.Primary));
        var rejoining = new LinkKeepalive(Settings, _metrics.TrackLink(Room, LinkEnd.Replica));
        split.Handle(new SplitFound("cut", _start));
        rejoining.Handle(new SplitFound("cut", _start));
        rejoining.Handle(new NetjoinUnderWay(_start));

        Assert.Equal(1, _recorder.Observe("dmuc.replica_links", ("end", "primary"), ("state", "linked")));
        Assert.Equal(1, _recorder.Observe("dmuc.replica_links", ("end", "primary"), ("state", "split")));
        Assert.Equal(1, _recorder.Observe("dmuc.replica_links", ("end", "replica"), ("state", "rejoining")));
        Assert.Equal(0, _recorder.Observe("dmuc.replica_links", ("end", "replica"), ("state", "linked")));

        split.Telemetry!.Dispose();
        Assert.Equal(0, _recorder.Observe("dmuc.replica_links", ("end", "primary"), ("state", "split")));
        Assert.Equal(1, _recorder.Observe("dmuc.replica_links", ("end", "primary"), ("state", "linked")));
        GC.KeepAlive(linked);
    }

    [Fact]
    public void The_service_address_keeps_no_link_to_count()
    {
        Assert.Null(_metrics.TrackLink(Jid.Parse("channel.avalon.irc"), LinkEnd.Primary));
    }

    [Fact]
    public void Replica_room_gauges_read_their_local_occupants_when_observed()
    {
        var occupants = 3;
        using var first = _metrics.TrackReplicaRoom(() => occupants);
        var second = _metrics.TrackReplicaRoom(() => 1);

        Assert.Equal(2, _recorder.Observe("dmuc.replica_rooms"));
        Assert.Equal(4, _recorder.Observe("dmuc.replica_occupants"));
        occupants = 5;
        second.Dispose();
        Assert.Equal(1, _recorder.Observe("dmuc.replica_rooms"));
        Assert.Equal(5, _recorder.Observe("dmuc.replica_occupants"));
    }

    [Fact]
    public void Primary_room_gauges_count_rooms_that_exist_and_their_occupants_by_where_they_are_served()
    {
        var hosts = new ClusterHosts("killrc.oulubox.irc");
        var state = new RoomState(Room, new MucServiceOptions("channel.avalon.irc", new HashSet<Jid>()));
        using var gauge = _metrics.TrackRoom();
        gauge.Observe(state, hosts);
        Assert.Equal(0, _recorder.Observe("dmuc.rooms"));

        Enter(state, "alice@killrc.oulubox.irc/home", "alice");
        gauge.Observe(state, hosts);
        Assert.Equal(1, _recorder.Observe("dmuc.rooms"));
        Assert.Equal(1, _recorder.Observe("dmuc.occupants", ("location", "local")));
        Assert.Equal(0, _recorder.Observe("dmuc.occupants", ("location", "remote")));

        // A temporary room goes with its last occupant.
        Process(state, new XElement(Ns.Client + "presence", new XAttribute("from", "alice@killrc.oulubox.irc/home"),
            new XAttribute("to", $"{Room}/alice"), new XAttribute("type", "unavailable")));
        gauge.Observe(state, hosts);
        Assert.Equal(0, _recorder.Observe("dmuc.rooms"));
        Assert.Equal(0, _recorder.Observe("dmuc.occupants", ("location", "local")));
    }

    [Fact]
    public void Messages_accepted_count_broadcast_groupchat_and_not_refused_messages()
    {
        var state = new RoomState(Room, new MucServiceOptions("channel.avalon.irc", new HashSet<Jid>()));
        Enter(state, "alice@killrc.oulubox.irc/home", "alice");
        var said = Say(state, "alice@killrc.oulubox.irc/home");
        var stranger = Say(state, "mallory@eris.dclxvii.irc/x");

        _metrics.Decided(said.Command, said.Decision);
        _metrics.Decided(stranger.Command, stranger.Decision);

        Assert.True(RoomTraffic.IsAcceptedGroupchat(said.Command, said.Decision));
        Assert.False(RoomTraffic.IsAcceptedGroupchat(stranger.Command, stranger.Decision));
        Assert.Equal([1.0], _recorder.Values("dmuc.messages.accepted"));
    }

    [Fact]
    public void Occupants_are_counted_once_whatever_their_sessions_and_by_their_host()
    {
        var state = new RoomState(Room, new MucServiceOptions("channel.avalon.irc", new HashSet<Jid>()));
        Enter(state, "alice@killrc.oulubox.irc/home", "alice");
        // Unlocked (an instant room), so that others may enter.
        Process(state, XElement.Parse($"<iq xmlns='jabber:client' from='alice@killrc.oulubox.irc/home' to='{Room}' type='set' id='instant'>"
            + "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"));
        Enter(state, "alice@killrc.oulubox.irc/phone", "alice");
        Enter(state, "bob@eris.dclxvii.irc/work", "bob");
        Enter(state, "carol@vesa.yeggmaex.irc/x", "carol");

        var (local, remote) = OccupantLocations.Count(state.OccupantBareJids, host => host != "killrc.oulubox.irc");

        Assert.Equal((1, 2), (local, remote));
    }

    [Fact]
    public async Task Inter_node_messages_and_their_bytes_are_counted_by_kind_and_direction_where_they_are_serialized()
    {
        var system = (ExtendedActorSystem)ActorSystem.Create("metrics-serializer", "akka.loglevel = WARNING");
        try
        {
            using var recorder = new MeterRecorder(DmucMetrics.Of(system).Meter);
            var serializer = new DmucProtocolSerializer(system);
            var ping = new KeepalivePing(Room, "killrc.oulubox.irc", "ping-1");

            var bytes = serializer.ToBinary(ping);
            serializer.FromBinary(bytes, serializer.Manifest(ping));

            Assert.Equal([1.0], recorder.Values("dmuc.internode.messages", ("kind", "ping"), ("direction", "sent")));
            Assert.Equal([1.0], recorder.Values("dmuc.internode.messages", ("kind", "ping"), ("direction", "received")));
            Assert.Equal([(double)bytes.Length], recorder.Values("dmuc.internode.traffic", ("kind", "ping"), ("direction", "sent")));
            Assert.Equal([(double)bytes.Length], recorder.Values("dmuc.internode.traffic", ("kind", "ping"), ("direction", "received")));
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static void Enter(RoomState state, string user, string nick) =>
        Process(state, new XElement(Ns.Client + "presence", new XAttribute("from", user), new XAttribute("to", $"{Room}/{nick}"),
            new XElement(Ns.Muc + "x")));

    private static (RoomCommand Command, Decision Decision) Say(RoomState state, string user) =>
        Process(state, new XElement(Ns.Client + "message", new XAttribute("from", user), new XAttribute("to", Room.ToString()),
            new XAttribute("type", "groupchat"), new XElement(Ns.Client + "body", "hello")));

    private static (RoomCommand Command, Decision Decision) Process(RoomState state, XElement stanza)
    {
        var command = new HandleStanza(stanza, DateTimeOffset.UtcNow);
        var decision = state.Process(command);
        foreach (var @event in decision.Events) state.Apply(@event);
        return (command, decision);
    }
}
