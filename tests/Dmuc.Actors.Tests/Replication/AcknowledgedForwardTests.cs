using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// Acknowledged forwards (docs/protocol/netjoin.md §2) as the pure pieces decide them: the replica's window, the room's
/// admission by number, the link's wait for an answer, and what a withheld private message tells its sender.
/// </summary>
public sealed class AcknowledgedForwardTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static XElement Message(string body) => Say(Wumpus, Room, body, id: body);

    [Fact]
    public void The_window_numbers_forwards_keeps_them_until_acknowledged_and_reports_the_rest_in_order()
    {
        var window = new ForwardWindow("s1");
        Assert.Equal(new ForwardNumber("s1", 1, 0), window.Forward(Message("one"), Start));
        Assert.Equal(new ForwardNumber("s1", 2, 0), window.Forward(Message("two"), Start.AddSeconds(1)));
        Assert.Equal(new ForwardNumber("s1", 3, 0), window.Forward(Message("three"), Start.AddSeconds(2)));

        Assert.True(window.Acknowledge(new ForwardAck("s1", 1)));
        Assert.False(window.Acknowledge(new ForwardAck("another life", 3)));

        Assert.Equal(Start.AddSeconds(1), window.OldestSentAt);
        var report = window.Report()!;
        Assert.Equal(("s1", 2L), (report.Session, report.First));
        Assert.Equal(["two", "three"], report.Stanzas.Select(held => held.Stanza.Body()));
        Assert.Equal(new ForwardNumber("s1", 4, 1), window.Forward(Message("four"), Start.AddSeconds(3)));

        // An acknowledgement beyond what was sent cannot make the window skip numbers.
        window.Acknowledge(new ForwardAck("s1", 99));
        Assert.Null(window.Report());
        Assert.Null(window.OldestSentAt);
        Assert.Equal(new ForwardNumber("s1", 5, 4), window.Forward(Message("five"), Start.AddSeconds(4)));
    }

    [Fact]
    public void The_room_processes_the_next_number_acknowledges_a_resend_and_holds_back_a_forward_past_a_gap()
    {
        var room = new RoomState(Jid.Parse(Room), DmucTestCluster.ServiceOptions);
        Assert.Equal((ForwardVerdict.Fresh, 0L), RelayedForwards.Admit(room, Killrc, new ForwardNumber("s1", 1, 0)));
        Assert.Equal(ForwardVerdict.Gap, RelayedForwards.Admit(room, Killrc, new ForwardNumber("s1", 2, 0)).Verdict);

        room.Apply(new RelayedStanzaProcessed(Killrc, "s1", 1, Kept: true));
        Assert.Equal((ForwardVerdict.Duplicate, 1L), RelayedForwards.Admit(room, Killrc, new ForwardNumber("s1", 1, 0)));
        Assert.Equal(ForwardVerdict.Fresh, RelayedForwards.Admit(room, Killrc, new ForwardNumber("s1", 2, 1)).Verdict);
        Assert.Equal(new ForwardAck("s1", 1), RelayedForwards.AckFor(room, Killrc, "s1"));
        // Another host's numbers are its own.
        Assert.Equal(ForwardVerdict.Fresh, RelayedForwards.Admit(room, Vesa, new ForwardNumber("s1", 1, 0)).Verdict);
        // A new life of the replica starts again from 1.
        Assert.Equal(ForwardVerdict.Fresh, RelayedForwards.Admit(room, Killrc, new ForwardNumber("s2", 1, 0)).Verdict);
        Assert.Null(RelayedForwards.AckFor(room, Killrc, "s2"));
        // A room that lost the record of forwards that changed nothing durable (it restarted) takes the replica's word
        // for what was acknowledged.
        Assert.Equal((ForwardVerdict.Fresh, 6L), RelayedForwards.Admit(room, Killrc, new ForwardNumber("s1", 7, 6)));
    }

    [Fact]
    public void A_forward_is_recorded_durably_exactly_when_its_decision_is()
    {
        var number = new ForwardNumber("s1", 3, 2);
        var durable = new Decision([new SubjectChanged(new RoomSubject("x", "y", Start))], []);
        Assert.True(RelayedForwards.Processed(Killrc, number, durable).IsDurable);
        Assert.False(RelayedForwards.Processed(Killrc, number, Decision.Nothing).IsDurable);
    }

    [Fact]
    public void An_unanswered_forward_marks_a_linked_end_split_after_a_keepalive_round_and_a_ping_wait()
    {
        var settings = new ReplicationSettings(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2));
        var keepalive = new LinkKeepalive(settings);
        keepalive.Handle(new OtherEndHeard(Start));
        keepalive.Handle(new AnswerAwaited(Start.AddSeconds(1), Start.AddSeconds(1)));

        Assert.Equal(KeepaliveAction.Ping, keepalive.Check(Start.AddSeconds(15)).Action);
        keepalive.Handle(new OtherEndHeard(Start.AddSeconds(16)));
        Assert.Equal(TimeSpan.FromSeconds(9), keepalive.Check(Start.AddSeconds(17)).CheckAgainIn);
        Assert.Equal(KeepaliveAction.MarkSplit, keepalive.Check(Start.AddSeconds(26)).Action);

        keepalive.Handle(new AnswerAwaited(null, Start.AddSeconds(26)));
        Assert.Equal(KeepaliveAction.None, keepalive.Check(Start.AddSeconds(26)).Action);
    }

    [Theory]
    [InlineData("<message from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc/Trillian' type='chat' id='pm'><body>psst</body></message>", true)]
    [InlineData("<message from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc/Trillian' id='pm'><body>psst</body></message>", true)]
    [InlineData("<iq from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc/Trillian' type='get' id='pm'><vCard xmlns='vcard-temp'/></iq>", true)]
    [InlineData("<message from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc' id='pm'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='troy@vesa.yeggmaex.irc'/></x></message>", true)]
    [InlineData("<message from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc' type='groupchat' id='pm'><body>all</body></message>", false)]
    [InlineData("<presence from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc/Wumpus'/>", false)]
    [InlineData("<iq from='argl@killrc.oulubox.irc/laptop' to='wallops@channel.avalon.irc/Trillian' type='result' id='pm'/>", false)]
    public void What_one_occupant_sends_another_is_answered_with_an_error_for_each_split_host_but_the_senders(string xml, bool bounces)
    {
        var stanza = XElement.Parse($"<wrapper xmlns='jabber:client'>{xml}</wrapper>").Elements().Single();

        var answers = SplitBounces.For(stanza, [Avalon, Killrc, Vesa]);

        if (!bounces)
        {
            Assert.Empty(answers);
            return;
        }
        Assert.Equal([Avalon, Vesa], answers.Keys.Order());
        var error = Assert.Single(answers[Avalon]);
        Assert.Equal(Wumpus.Jid, error.To.ToString());
        Assert.Equal("error", error.Stanza.Attribute("type")?.Value);
        Assert.Equal(stanza.Attribute("to")?.Value, error.Stanza.Attribute("from")?.Value);
        Assert.Null(error.Stanza.Attribute("to"));
        Assert.NotNull(error.Stanza.Descendants(Ns.Stanzas + "remote-server-timeout").SingleOrDefault());
    }

    [Fact]
    public void The_ledger_keeps_what_a_forward_brought_its_host_that_a_resync_would_not_until_the_replica_has_the_acknowledgement()
    {
        var ledger = new HeldStanzaLedger();
        var room = Jid.Parse(Room);
        var wumpus = Jid.Parse(Wumpus.Jid);
        var iqResult = new XElement(Ns.Client + "iq", new XAttribute("type", "result"), new XAttribute("id", "disco"));
        var presence = new XElement(Ns.Client + "presence", new XAttribute("from", $"{Room}/Wumpus"));
        var kept = new XElement(Ns.Client + "message", new XAttribute("type", "groupchat"),
            new XElement(Ns.StanzaId + "stanza-id", new XAttribute("by", Room), new XAttribute("id", "sid-1")));
        var toAvalon = new Delivery(Jid.Parse(Trillian.Jid), iqResult);
        ledger.ForwardProcessed(Killrc, "s1", 1, new Decision([new HistoryMessageAdded(new HistoryEntry("<message/>", wumpus.Bare, "Wumpus", Start, "sid-1"))],
            [new Delivery(wumpus, kept), new Delivery(wumpus, presence), toAvalon]), room);
        ledger.ForwardProcessed(Killrc, "s1", 2, new Decision([], [new Delivery(wumpus, iqResult)]), room);

        Assert.Equal([iqResult], ledger.OutcomeFor(Killrc).Answers.Select(answer => answer.Stanza));
        ledger.ForwardsAcknowledged(Killrc, "s1", 2);
        Assert.Empty(ledger.OutcomeFor(Killrc).Answers);
        // A new life of the replica forgets the old one's outcomes.
        ledger.ForwardProcessed(Killrc, "s1", 3, new Decision([], [new Delivery(wumpus, iqResult)]), room);
        ledger.ForwardsAcknowledged(Killrc, "s2", 0);
        Assert.Empty(ledger.OutcomeFor(Killrc).Answers);
    }

    /// <summary>
    /// A replica user's entry is processed but its batch is lost (the replica's node restarted, say): the forward stays
    /// unacknowledged, and the netjoin's resync gives the entrant the whole entry once, in XEP-0045's order — the
    /// presences (its own last), the history from before what the replica had and after it, then the subject.
    /// </summary>
    [Fact]
    public void An_entry_whose_batch_was_lost_reaches_the_entrant_once_and_in_order_through_the_resync()
    {
        var room = new RoomState(Jid.Parse(Room), DmucTestCluster.ServiceOptions);
        var now = Start;
        Decision Process(XElement stanza)
        {
            var decision = room.Process(new HandleStanza(stanza, now = now.AddSeconds(1)));
            foreach (var @event in decision.Events) room.Apply(@event);
            return decision;
        }
        Process(Enter(Trillian, Room));
        Process(AcceptDefaultConfiguration(Trillian, Room));
        Process(RoomStanzas.SetSubject(Trillian.Jid, "Gnomes", Room));
        Process(Say(Trillian, Room, "seen on killrc", id: "seen"));
        var lastSeenOnKillrc = room.History[^1].StanzaId;
        Process(Say(Trillian, Room, "said while killrc was away", id: "missed"));

        // Valdis stayed on killrc's replica, which saw the history up to the first message; Wumpus's entry is lost.
        var replica = new ReplicaRoomState(Jid.Parse(Room), Killrc);
        var enter = Enter(Wumpus, Room);
        replica.Handle(new LocalStanzaArrived(enter, LinkState.Linked, now));
        var ledger = new HeldStanzaLedger();
        ledger.ForwardProcessed(Killrc, "s1", 1, Process(enter), Jid.Parse(Room));
        var netjoin = replica.Handle(new NetjoinRequested(LinkState.Split)).Netjoin!.NetjoinId;
        var report = new ResyncReplica(Jid.Parse(Room), Killrc, netjoin, 3, lastSeenOnKillrc,
            new Dictionary<Jid, string> { [Jid.Parse(Valdis.Jid)] = Valdis.Nick }, [], [], 1,
            new UnacknowledgedForwards("s1", 1, [new HeldStanza(enter, now)]));
        Assert.Empty(ledger.ToProcess(report));

        var applied = replica.Handle(new BatchFromPrimary(new ReplicaBatch(Jid.Parse(Room), Killrc, 4,
            NetjoinPlanner.Resync(room, Killrc, report, ledger.OutcomeFor(Killrc)), report.NetjoinId), LinkState.Rejoining, now));

        Assert.Empty(applied.Refused);
        var toWumpus = applied.Deliveries.Where(delivery => delivery.To == Jid.Parse(Wumpus.Jid)).Select(delivery => delivery.Stanza).ToList();
        Assert.Collection(toWumpus,
            stanza => Assert.True(Received.PresenceOf(Room, Trillian.Nick)(stanza), stanza.ToString()),
            stanza => Assert.True(Received.OwnPresence(Room, Wumpus.Nick)(stanza), stanza.ToString()),
            stanza => Assert.Equal("seen on killrc", stanza.Body()),
            stanza => Assert.Equal("said while killrc was away", stanza.Body()),
            stanza => Assert.True(Received.Subject(Room)(stanza), stanza.ToString()));
        Assert.All(toWumpus.Skip(2), stanza => Assert.NotNull(stanza.Element(Ns.Delay + "delay")));
        Assert.Equal(room.History[^1].StanzaId, replica.LastStanzaId);
    }
}
