using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>The primary's side of one replica host's link, as ReplicaLink hands it the room's items, resyncs and its keepalive's checks.</summary>
public sealed class ReplicaLinkStateTests
{
    private const string Killrc = "killrc.oulubox.irc";
    private static readonly Jid Room = Jid.Parse("wallops@channel.avalon.irc");
    private static readonly DateTimeOffset Now = new(1990, 10, 13, 23, 58, 37, TimeSpan.Zero);
    private static readonly TimeSpan GoneAfter = TimeSpan.FromSeconds(25);

    private readonly ReplicaLinkState _link = new(Room, Killrc, resyncPartBytes: 1 << 20);

    [Fact]
    public void Batches_are_numbered_while_linked_and_withheld_with_their_bounces_for_the_room_while_not()
    {
        var bounce = new Delivery(Jid.Parse("argl@killrc.oulubox.irc/laptop"), Parse("<message type='error'/>"));

        var first = _link.Handle(Items(LinkState.Linked, Said("one")));
        var withheld = _link.Handle(Items(LinkState.Split, Said("two")) with { Replicate = new([Said("two")], Bounces: [bounce]) });
        var second = _link.Handle(Items(LinkState.Linked, Said("three")));

        Assert.Equal(1, Assert.IsType<ReplicaBatch>(Assert.Single(first.ToReplica)).Sequence);
        Assert.Empty(withheld.ToReplica);
        Assert.Equal([bounce], Assert.IsType<ReplicaLink.Bounced>(Assert.Single(withheld.ToRoom)).Deliveries);
        Assert.Null(withheld.SplitReason);
        Assert.Equal(2, Assert.IsType<ReplicaBatch>(Assert.Single(second.ToReplica)).Sequence);
        Assert.Equal((2, 1), (_link.BatchesSent, _link.BatchesWithheld));
    }

    [Fact]
    public void A_host_without_a_node_finds_the_link_split_and_its_batch_withheld()
    {
        var outcome = _link.Handle(Items(LinkState.Linked, Said("lost")) with { HostHasNode = false });

        Assert.Equal("its host has no node in the cluster", outcome.SplitReason);
        Assert.Empty(outcome.ToReplica);
        Assert.Equal(1, _link.BatchesWithheld);
    }

    [Fact]
    public void An_acknowledgement_without_items_goes_alone_and_only_while_linked()
    {
        var ack = new ForwardAck("life-1", 3);

        Assert.Equal(new ForwardsAcknowledged(Room, Killrc, ack), Assert.Single(_link.Handle(new RoomItemsArrived(new([], ack), LinkState.Linked, true)).ToReplica));
        Assert.Empty(_link.Handle(new RoomItemsArrived(new([], ack), LinkState.Split, true)).ToReplica);
        Assert.Equal(0, _link.BatchesSent);
    }

    [Fact]
    public void The_resync_goes_in_parts_numbered_on_with_the_acknowledgement_on_the_last_and_the_notice_of_unstored_messages_missed()
    {
        var link = new ReplicaLinkState(Room, Killrc, resyncPartBytes: 600);
        link.Handle(Items(LinkState.Linked, Said("applied")));
        link.Handle(Items(LinkState.Split, Unstored("missed")));
        var ack = new ForwardAck("life-1", 7);
        var items = Enumerable.Range(1, 6).Select(i => Said($"resync {i} {new string('x', 150)}")).ToList();

        var outcome = link.Handle(new ResyncReady(new ReplicaLink.SendResync("netjoin-4", items, ReplicaApplied: 1, ack), HostHasNode: true));

        var parts = outcome.ToReplica.Cast<ReplicaBatch>().ToList();
        Assert.True(parts.Count > 1, $"{parts.Count} parts");
        Assert.True(outcome.Rejoined);
        Assert.Equal(Enumerable.Range(2, parts.Count).Select(i => (long)i), parts.Select(part => part.Sequence));
        Assert.All(parts, part => Assert.Equal("netjoin-4", part.ResyncOf));
        Assert.Equal([.. Enumerable.Repeat(true, parts.Count - 1), false], parts.Select(part => part.More));
        Assert.Equal([.. Enumerable.Repeat<ForwardAck?>(null, parts.Count - 1), ack], parts.Select(part => part.Ack));
        Assert.StartsWith("1 ", parts[^1].Items[^1].Stanza.Element(Ns.Client + "body")?.Value);
        Assert.Equal(1 + parts.Count, link.BatchesSent);

        var again = link.Handle(new ResyncReady(new ReplicaLink.SendResync("netjoin-5", [], ReplicaApplied: link.BatchesSent), HostHasNode: true));
        Assert.Empty(Assert.IsType<ReplicaBatch>(Assert.Single(again.ToReplica)).Items);
    }

    [Fact]
    public void A_resync_for_a_host_without_a_node_finds_the_link_split_and_keeps_what_it_would_have_said()
    {
        _link.Handle(Items(LinkState.Split, Unstored("missed")));

        var lost = _link.Handle(new ResyncReady(new ReplicaLink.SendResync("netjoin-1", [], 0), HostHasNode: false));
        var sent = _link.Handle(new ResyncReady(new ReplicaLink.SendResync("netjoin-2", [], 0), HostHasNode: true));

        Assert.Equal(("its host has no node in the cluster", false), (lost.SplitReason, lost.Rejoined));
        Assert.Empty(lost.ToReplica);
        Assert.StartsWith("1 ", Assert.Single(Assert.IsType<ReplicaBatch>(Assert.Single(sent.ToReplica)).Items).Stanza.Element(Ns.Client + "body")?.Value);
    }

    [Fact]
    public void The_room_hears_once_that_a_host_has_been_without_a_node_for_long_and_again_only_after_it_came_back()
    {
        Assert.Empty(Check(hasNode: false, Now).ToRoom);
        Assert.Equal(Now, _link.NodelessSince);
        Assert.Empty(Check(hasNode: false, Now + GoneAfter - TimeSpan.FromSeconds(1)).ToRoom);
        Assert.Equal(new ReplicaLink.ReplicaHostGone(Killrc), Assert.Single(Check(hasNode: false, Now + GoneAfter).ToRoom));
        Assert.Empty(Check(hasNode: false, Now + GoneAfter * 2).ToRoom);

        Check(hasNode: true, Now + GoneAfter * 3);
        Assert.Null(_link.NodelessSince);
        Check(hasNode: false, Now + GoneAfter * 4);
        Assert.Single(Check(hasNode: false, Now + GoneAfter * 5).ToRoom);

        var service = new ReplicaLinkState(Jid.Parse("channel.avalon.irc"), Killrc, 1 << 20);
        service.Handle(new HostNodeChecked(false, Now, GoneAfter));
        Assert.Empty(service.Handle(new HostNodeChecked(false, Now + GoneAfter, GoneAfter)).ToRoom);
    }

    [Fact]
    public void Word_from_a_split_replica_asks_it_to_rejoin_and_a_gap_in_its_forwards_asks_only_while_linked()
    {
        var heard = _link.Handle(new ReplicaHeard(LinkState.Split, HostHasNode: true));
        Assert.Equal(new RequestNetjoin(Room, Killrc), Assert.Single(heard.ToReplica));
        Assert.True(heard.AwaitsNetjoin);
        Assert.Empty(_link.Handle(new ReplicaHeard(LinkState.Linked, HostHasNode: true)).ToReplica);
        Assert.Empty(_link.Handle(new ReplicaHeard(LinkState.Rejoining, HostHasNode: true)).ToReplica);
        Assert.False(_link.Handle(new ReplicaHeard(LinkState.Split, HostHasNode: false)).AwaitsNetjoin);

        var gap = _link.Handle(new RejoinNeeded(LinkState.Linked, HostHasNode: true));
        Assert.Equal(new RequestNetjoin(Room, Killrc), Assert.Single(gap.ToReplica));
        Assert.False(gap.AwaitsNetjoin);
        Assert.Empty(_link.Handle(new RejoinNeeded(LinkState.Split, HostHasNode: true)).ToReplica);
        Assert.Equal("its host has no node in the cluster", _link.Handle(new RejoinNeeded(LinkState.Linked, HostHasNode: false)).SplitReason);

        var service = new ReplicaLinkState(Jid.Parse("channel.avalon.irc"), Killrc, 1 << 20);
        Assert.Empty(service.Handle(new ReplicaHeard(LinkState.Split, HostHasNode: true)).ToReplica);
    }

    /// <summary>
    /// The link of a room that recovered killrc's users numbers from 1 like any new link: its batches and pings say the room has users
    /// of the host from before it, so that a replica that knows nobody relearns them (docs/protocol/netjoin.md §5), until its first
    /// resync. A link whose host's users all entered through it never says so, nor does the service's own address.
    /// </summary>
    [Fact]
    public void A_link_of_a_room_that_recovered_the_host_s_users_says_so_on_its_batches_and_pings_until_its_first_resync()
    {
        var link = new ReplicaLinkState(Room, Killrc, resyncPartBytes: 1 << 20, usersBeforeLink: true);

        var first = Assert.IsType<ReplicaBatch>(Assert.Single(link.Handle(Items(LinkState.Linked, Said("one"))).ToReplica));
        Assert.Equal((1, true), (first.Sequence, first.UsersBeforeLink));
        Assert.Equal(new KeepalivePing(Room, Killrc, "ping-1", 1, UsersBeforeLink: true), link.Ping("ping-1"));

        link.Handle(new ResyncReady(new ReplicaLink.SendResync("netjoin-1", [], ReplicaApplied: 0), HostHasNode: true));
        Assert.False(Assert.IsType<ReplicaBatch>(Assert.Single(link.Handle(Items(LinkState.Linked, Said("two"))).ToReplica)).UsersBeforeLink);
        Assert.False(link.Ping("ping-2").UsersBeforeLink);

        Assert.False(Assert.IsType<ReplicaBatch>(Assert.Single(_link.Handle(Items(LinkState.Linked, Said("one"))).ToReplica)).UsersBeforeLink);
        Assert.False(_link.Ping("ping-1").UsersBeforeLink);
        Assert.False(new ReplicaLinkState(Jid.Parse("channel.avalon.irc"), Killrc, 1 << 20, usersBeforeLink: true).Ping("ping-1").UsersBeforeLink);
    }

    [Fact]
    public void Deciding_changes_nothing_until_the_events_are_applied()
    {
        var decided = _link.Process(Items(LinkState.Linked, Said("one")));

        Assert.Equal(0, _link.BatchesSent);
        Assert.Equal(1, Assert.IsType<ReplicaBatch>(Assert.Single(_link.Process(Items(LinkState.Linked, Said("two"))).ToReplica)).Sequence);

        foreach (var happened in decided.Events) _link.Apply(happened);
        Assert.Equal(1, _link.BatchesSent);
    }

    private ReplicaLinkOutcome Check(bool hasNode, DateTimeOffset now) => _link.Handle(new HostNodeChecked(hasNode, now, GoneAfter));

    /// <summary>
    /// An entrant's roster presence the host was sent already goes as its nick, in one item with the others of the run; once a batch
    /// is withheld, a resync sent, or the host's node missed, the link no longer knows what the replica keeps and sends it in full.
    /// </summary>
    [Fact]
    public void Presences_the_host_was_sent_go_again_as_nicks_until_the_link_may_no_longer_know_what_it_keeps()
    {
        var (juliet, romeo) = (Jid.Parse("juliet@killrc.oulubox.irc/balcony"), Jid.Parse("romeo@killrc.oulubox.irc/street"));
        var wiz = Parse($"<presence from='{Room}/WiZ'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x></presence>");
        var troy = Parse($"<presence from='{Room}/Troy'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x></presence>");
        IReadOnlyList<ReplicaItem> RosterTo(Jid entrant, LinkState link = LinkState.Linked) =>
            _link.Handle(Items(link, new ReplicaItem(wiz, [entrant]), new ReplicaItem(troy, [entrant]))).ToReplica.Cast<ReplicaBatch>().SingleOrDefault()?.Items ?? [];

        var first = RosterTo(juliet);
        var again = RosterTo(romeo);
        RosterTo(juliet, LinkState.Split);
        var afterWithheld = RosterTo(romeo);
        _link.Handle(new HostNodeChecked(HostHasNode: false, Now, GoneAfter));
        var afterNodeMissing = RosterTo(juliet);

        Assert.Equal([wiz, troy], first.Select(item => item.Stanza));
        Assert.Equal(["WiZ", "Troy"], Assert.Single(again).Repeats);
        Assert.Equal([romeo], Assert.Single(again).Recipients);
        Assert.Equal([wiz, troy], afterWithheld.Select(item => item.Stanza));
        Assert.Equal([wiz, troy], afterNodeMissing.Select(item => item.Stanza));
    }

    private static RoomItemsArrived Items(LinkState link, params ReplicaItem[] items) => new(new ReplicaLink.ReplicateToHost(items), link, HostHasNode: true);

    private static ReplicaItem Said(string body) => new(Parse($"<message from='{Room}/WiZ' type='groupchat'><body>{body}</body></message>"), null);

    private static ReplicaItem Unstored(string body) =>
        new(Parse($"<message from='{Room}/WiZ' type='groupchat'><body>{body}</body><no-store xmlns='urn:xmpp:hints'/></message>"), null);
}
