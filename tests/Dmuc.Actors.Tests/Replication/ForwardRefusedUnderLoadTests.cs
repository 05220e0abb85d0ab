using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// A replica's forward while the primary's own server is behind on the room's output (docs/protocol/netjoin.md §2,
/// docs/operations.md "Overload"): refused by the rule a local user's stanza is, its error crossing back in the sender's
/// host's batch beside the forward's acknowledgement. Driven as the actors drive the pure classes: the replica
/// (<see cref="ReplicaRoomState"/>), the room (<see cref="PrimaryRoom"/>), the link (<see cref="ReplicaLinkState"/>) and the wire.
/// </summary>
public sealed class ForwardRefusedUnderLoadTests
{
    private static readonly Jid RoomJid = Jid.Parse(Room);
    private static readonly DateTimeOffset Now = new(1990, 10, 13, 23, 58, 37, TimeSpan.Zero);

    private readonly PrimaryRoom _primary = new(new RoomState(RoomJid, DmucTestCluster.ServiceOptions), host => host == Killrc, () => true,
        receiptJournalInterval: TimeSpan.Zero);
    private readonly ReplicaLinkState _link = new(RoomJid, Killrc, resyncPartBytes: 1 << 20);
    private readonly ReplicaRoomState _replica = new(RoomJid, Killrc);

    public ForwardRefusedUnderLoadTests()
    {
        _primary.Decide(new HandleStanza(Enter(Trillian, Room), Now));
        _primary.Decide(new HandleStanza(AcceptDefaultConfiguration(Trillian, Room), Now));
    }

    [Theory]
    [InlineData("<presence from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc/Wumpus'><x xmlns='http://jabber.org/protocol/muc'/></presence>", true)]
    [InlineData("<message from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc' type='groupchat' id='m1'><body>hi</body></message>", true)]
    [InlineData("<iq from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc' type='get' id='q1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", true)]
    [InlineData("<presence from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc/Wumpus' type='unavailable'/>", false)]
    [InlineData("<message from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc' type='error' id='e1'/>", false)]
    [InlineData("<iq from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc' type='result' id='p1'/>", false)]
    public void Behind_a_forward_is_refused_by_the_rule_a_local_users_stanza_is_and_never_when_the_server_keeps_up(string xml, bool refused)
    {
        var stanza = XElement.Parse($"<wrapper xmlns='jabber:client'>{xml}</wrapper>").Elements().Single();

        Assert.Null(RoomLoadShedding.Refusal(new HandleStanza(stanza, Now), behind: false));
        var refusal = RoomLoadShedding.Refusal(new HandleStanza(stanza, Now), behind: true);
        if (!refused)
        {
            Assert.Null(refusal);
            return;
        }
        Assert.Empty(refusal!.Events);
        var error = Assert.Single(refusal.Deliveries);
        Assert.Equal(Wumpus.Jid, error.To.ToString());
        AssertResourceConstraint(error.Stanza, stanza);
        // Like every answer of the room's: the delivery names the recipient, the stanza does not.
        Assert.Null(error.Stanza.Attribute("to"));
    }

    [Fact]
    public void A_join_forwarded_while_the_primarys_server_is_behind_gets_its_error_through_the_replica_and_is_acknowledged()
    {
        var join = Enter(Wumpus, Room);
        var forward = Assert.Single(_replica.Handle(new LocalStanzaArrived(join, LinkState.Linked, Now)).Forwards);
        Assert.Equal(1, _replica.UnacknowledgedForwards);

        var outcome = _primary.Relayed(new HandleStanza(forward.Stanza, Now), new RelayedBy(Killrc, forward.Number!), serverBehind: true);

        Assert.True(outcome.Decided!.RefusedUnderLoad);
        Assert.Equal(ForwardVerdict.Fresh, outcome.Verdict);
        Assert.Equal(1, _primary.State.OccupantCount);
        var outgoing = outcome.Decided!.Outgoing;
        Assert.Empty(outgoing.Plan.Local);
        Assert.Equal((Killrc, new ForwardAck(forward.Number!.Session, 1)), outgoing.Ack);
        // Recorded as processed, so the replica's resend of it is only acknowledged again, never refused or processed twice.
        Assert.Equal(ForwardVerdict.Duplicate, RelayedForwards.Admit(_primary.State, Killrc, forward.Number).Verdict);
        var resent = _primary.Relayed(new HandleStanza(forward.Stanza, Now), new RelayedBy(Killrc, forward.Number), serverBehind: false);
        Assert.Null(resent.Decided);
        Assert.Equal(1, _primary.State.OccupantCount);

        var delivered = Ship(outgoing);

        var error = Assert.Single(delivered);
        Assert.Equal(Wumpus.Jid, error.To.ToString());
        AssertResourceConstraint(error.Stanza, join);
        Assert.Equal(0, _replica.UnacknowledgedForwards);
        Assert.Empty(_replica.Roster);
    }

    [Fact]
    public void Behind_an_occupants_leave_forwarded_is_still_processed_and_once_the_server_keeps_up_a_join_is_too()
    {
        Forward(Enter(Wumpus, Room), serverBehind: false);
        Assert.Equal(2, _primary.State.OccupantCount);

        var left = Forward(Leave(Wumpus, Room), serverBehind: true);

        Assert.False(left.Decided!.RefusedUnderLoad);
        Assert.Equal(1, _primary.State.OccupantCount);
        Assert.Contains(Ship(left.Decided!.Outgoing), d => d.To.ToString() == Wumpus.Jid && d.Stanza.Attribute("type")?.Value == "unavailable");
        Assert.Equal(0, _replica.UnacknowledgedForwards);
    }

    [Fact]
    public void While_a_replica_hosts_server_is_behind_the_room_refuses_a_join_from_any_host_until_it_catches_up_or_stops_saying_so()
    {
        Forward(Enter(Wumpus, Room), serverBehind: false);
        _primary.ReplicaServerBehind(new ServerBehind(RoomJid, Killrc, Behind: true), Now);

        var refused = _primary.Decide(new HandleStanza(Enter(Cerebus, Room), Now));

        Assert.True(refused.RefusedUnderLoad);
        var error = Assert.Single(refused.Outgoing.Plan.Local);
        Assert.Equal(Cerebus.Jid, error.To.ToString());
        AssertResourceConstraint(error.Stanza, Enter(Cerebus, Room));
        Assert.Empty(refused.Outgoing.Plan.ByHost);
        // What lowers the load is taken.
        Assert.False(_primary.Decide(new HandleStanza(Leave(Trillian, Room), Now)).RefusedUnderLoad);

        // A word not repeated lapses (the replica's node may be gone); one that says the server caught up ends it at once.
        Assert.False(_primary.Decide(new HandleStanza(Enter(Cerebus, Room), Now + HostsBehind.WordHolds)).RefusedUnderLoad);
        _primary.ReplicaServerBehind(new ServerBehind(RoomJid, Killrc, Behind: true), Now + HostsBehind.WordHolds);
        _primary.ReplicaServerBehind(new ServerBehind(RoomJid, Killrc, Behind: false), Now + HostsBehind.WordHolds);
        Assert.False(_primary.Decide(new HandleStanza(Enter(Dclxvi, Room), Now + HostsBehind.WordHolds)).RefusedUnderLoad);
        Assert.Equal(3, _primary.State.OccupantCount);
    }

    [Fact]
    public void A_replica_says_its_server_is_behind_as_it_finds_it_so_repeats_it_while_it_lasts_and_says_once_that_it_caught_up()
    {
        var word = new ServerBehindWord();
        Assert.Null(word.Looked(behind: false, Now));

        Assert.Equal(true, word.Looked(behind: true, Now));
        Assert.True(word.Behind);
        Assert.Null(word.Looked(behind: true, Now + ServerBehindWord.Repeat / 2));
        Assert.Equal(true, word.Looked(behind: true, Now + ServerBehindWord.Repeat));
        Assert.True(ServerBehindWord.Repeat * 3 < HostsBehind.WordHolds, "a word repeated while behind never lapses at the primary");

        Assert.Equal(false, word.Looked(behind: false, Now + ServerBehindWord.Repeat * 2));
        Assert.False(word.Behind);
        Assert.Null(word.Looked(behind: false, Now + ServerBehindWord.Repeat * 3));
    }

    private RelayedOutcome Forward(XElement stanza, bool serverBehind)
    {
        var forward = Assert.Single(_replica.Handle(new LocalStanzaArrived(stanza, LinkState.Linked, Now)).Forwards);
        var outcome = _primary.Relayed(new HandleStanza(forward.Stanza, Now), new RelayedBy(Killrc, forward.Number!), serverBehind);
        if (!serverBehind) Ship(outcome.Decided!.Outgoing);
        return outcome;
    }

    /// <summary>The killrc batch through the link and the wire to the replica; what it delivers to its users.</summary>
    private IReadOnlyList<Delivery> Ship(Outgoing outgoing)
    {
        var ack = outgoing.Ack is { Host: Killrc } acknowledged ? acknowledged.Ack : null;
        var items = outgoing.Plan.ByHost.GetValueOrDefault(Killrc) ?? [];
        var sent = Assert.IsType<ReplicaBatch>(Assert.Single(_link.Handle(new RoomItemsArrived(new ReplicaLink.ReplicateToHost(items, ack),
            LinkState.Linked, HostHasNode: true)).ToReplica));
        var wire = (ReplicaBatch)DmucCodec.FromXml(XElement.Parse(DmucCodec.ToXml(sent).ToString(SaveOptions.DisableFormatting)));
        var taken = _replica.Handle(new BatchFromPrimary(wire, LinkState.Linked, Now));
        Assert.Null(taken.Netjoin);
        return taken.Deliveries;
    }

    private static void AssertResourceConstraint(XElement error, XElement refused)
    {
        Assert.Equal(refused.Name, error.Name);
        Assert.Equal("error", error.Attribute("type")?.Value);
        Assert.Equal(refused.Attribute("to")?.Value, error.Attribute("from")?.Value);
        var condition = error.Element(Ns.Client + "error")!;
        Assert.Equal("wait", condition.Attribute("type")?.Value);
        Assert.NotNull(condition.Element(Ns.Stanzas + "resource-constraint"));
    }
}
