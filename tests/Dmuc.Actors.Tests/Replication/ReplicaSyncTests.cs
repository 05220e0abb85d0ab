using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>The replica's sequence conditions and its half of a netjoin, through the commands ReplicaRoom hands its room.</summary>
public sealed class ReplicaSyncTests
{
    private const string OwnHost = "vesa.yeggmaex.irc";
    private static readonly Jid Room = Jid.Parse("wallops@channel.avalon.irc");
    private static readonly Jid BigCheese = Jid.Parse("rubenro@vesa.yeggmaex.irc/shaver");
    private static readonly DateTimeOffset Now = new(1990, 10, 13, 23, 58, 37, TimeSpan.Zero);

    private readonly ReplicaRoomState _state = new(Room, OwnHost);

    [Fact]
    public void The_next_batch_is_applied_and_one_past_a_gap_starts_a_netjoin()
    {
        Applied(1);

        Assert.Equal("applied", Verdict(Batch(2), LinkState.Linked));
        Assert.Equal("netjoin: batch 4 after 1", Verdict(Batch(4), LinkState.Linked));
    }

    /// <summary>
    /// A replica that was never in step (its node started since: one started by a local user's stanza as much as one the primary's word
    /// started) and hears of batches it never had knows none of the users they served: it netjoins to relearn them. Batch 1 starts a
    /// link, whose first entrant's host has nobody to relearn.
    /// </summary>
    [Fact]
    public void A_replica_that_was_never_in_step_netjoins_on_a_batch_or_ping_past_batches_it_never_had_and_takes_batch_1()
    {
        Assert.Equal("netjoin: batch 17: the primary sent this host batches before (up to 16), and this replica knows none of their users",
            Verdict(Batch(17), LinkState.Linked));
        Assert.Equal("the primary sent this host batches before (up to 16), and this replica knows none of their users",
            _state.Process(new KeepaliveFromPrimary(16, LinkState.Linked)).NetjoinWhy);
        Assert.Null(_state.Process(new KeepaliveFromPrimary(0, LinkState.Linked)).Netjoin);
        Assert.Equal("applied", Verdict(Batch(1), LinkState.Linked));
    }

    [Fact]
    public void A_batch_across_a_split_link_is_not_applied_but_starts_a_netjoin_and_one_while_rejoining_is_ignored()
    {
        Applied(1);

        Assert.Equal("netjoin: ", Verdict(Batch(2), LinkState.Split));
        Assert.Equal("ignored", Verdict(Batch(2), LinkState.Rejoining));
    }

    [Fact]
    public void A_lower_number_is_a_restarted_primary_only_when_the_replica_has_occupants_it_would_have_forgotten()
    {
        Applied(5);
        Assert.Equal("applied", Verdict(Batch(1), LinkState.Linked));

        EnterLocally(BigCheese, "BigCheese", sequence: 6);
        Assert.Equal("netjoin: batch 2 after 6: the primary's room restarted", Verdict(Batch(2), LinkState.Linked));
    }

    /// <summary>
    /// The primary's room recovered users of this host and its new link numbers from 1, while this replica's node restarted too: taking
    /// batch 1 as in step, it would never know those users (ghosts whose leave nobody forwards). It netjoins to relearn them, on the
    /// batch or the ping that says so. A replica that was in step keeps to the sequence conditions, and a first entrant's batch, which
    /// does not say so, is applied.
    /// </summary>
    [Fact]
    public void A_replica_that_was_never_in_step_netjoins_when_the_primary_says_its_room_has_users_of_this_host_from_before_its_link()
    {
        Assert.Equal("netjoin: batch 1: the primary's room recovered users of this host, and this replica knows none of them",
            Verdict(Batch(1) with { UsersBeforeLink = true }, LinkState.Linked));
        Assert.Equal("the primary's room recovered users of this host, and this replica knows none of them",
            _state.Process(new KeepaliveFromPrimary(0, LinkState.Linked, UsersBeforeLink: true)).NetjoinWhy);
        Assert.Equal("ignored", Verdict(Batch(1) with { UsersBeforeLink = true }, LinkState.Rejoining));
        Assert.Equal("applied", Verdict(Batch(1), LinkState.Linked));

        Applied(1);
        Assert.Equal("applied", Verdict(Batch(2) with { UsersBeforeLink = true }, LinkState.Linked));
        Assert.Null(_state.Process(new KeepaliveFromPrimary(1, LinkState.Linked, UsersBeforeLink: true)).Netjoin);
    }

    [Fact]
    public void A_ping_or_pong_past_what_was_applied_shows_batches_lost_in_a_cut_too_short_to_notice()
    {
        Applied(3);

        Assert.Null(_state.Process(new KeepaliveFromPrimary(3, LinkState.Linked)).Netjoin);
        Assert.Equal("the primary sent up to batch 5, we applied 3", _state.Process(new KeepaliveFromPrimary(5, LinkState.Linked)).NetjoinWhy);
        Assert.Null(_state.Process(new KeepaliveFromPrimary(5, LinkState.Rejoining)).Netjoin);
        Assert.Null(_state.Process(new KeepaliveFromPrimary(null, LinkState.Linked)).Netjoin);
    }

    [Fact]
    public void The_service_address_applies_every_batch_and_never_resyncs()
    {
        var service = new ReplicaRoomState(Jid.Parse("channel.avalon.irc"), OwnHost);

        Assert.Single(service.Process(new BatchFromPrimary(Batch(9), LinkState.Split, Now)).Events.OfType<ReplicaBatchApplied>());
        Assert.Null(service.Process(new KeepaliveFromPrimary(9, LinkState.Linked)).Netjoin);
        Assert.Null(service.Process(new NetjoinRequested(LinkState.Linked)).Netjoin);
    }

    [Fact]
    public void Only_the_resync_of_the_latest_netjoin_is_taken_and_it_forgets_only_the_held_stanzas_reported()
    {
        EnterLocally(BigCheese, "BigCheese", sequence: 1);
        Take(new LocalStanzaArrived(Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese'><show>away</show></presence>"), LinkState.Split, Now));
        var first = StartNetjoin();
        var second = StartNetjoin();
        Take(new LocalStanzaArrived(Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese'><show>xa</show></presence>"), LinkState.Split, Now));

        Assert.Equal(ResyncStep.Ignored, TakeResync(Batch(2) with { ResyncOf = first.NetjoinId }).Resync);
        Assert.Equal(ResyncStep.NetjoinComplete, TakeResync(Batch(2) with { ResyncOf = second.NetjoinId }).Resync);

        Assert.Equal("xa", Assert.Single(_state.HeldDuringSplit).Stanza.Element(Ns.Client + "show")?.Value);
        Assert.Null(_state.NetjoinId);
        Assert.Equal(ResyncStep.Ignored, TakeResync(Batch(3) with { ResyncOf = second.NetjoinId }).Resync);
    }

    [Fact]
    public void A_resync_in_parts_ends_the_netjoin_with_its_last_part_and_a_lost_part_fails_it()
    {
        EnterLocally(BigCheese, "BigCheese", sequence: 1);
        var netjoin = StartNetjoin().NetjoinId;
        var wumpus = new ReplicaItem(Parse($"<message from='{Room}/Wumpus' type='groupchat'><body>part</body></message>"), null);

        Assert.Equal(ResyncStep.PartTaken, TakeResync(Batch(2, wumpus) with { ResyncOf = netjoin, More = true }).Resync);
        Assert.Equal(ResyncStep.Ignored, TakeResync(Batch(4, wumpus) with { ResyncOf = netjoin }).Resync);
        Assert.Equal(netjoin, _state.NetjoinId);

        var again = StartNetjoin().NetjoinId;
        Assert.Equal(ResyncStep.PartTaken, TakeResync(Batch(5, wumpus) with { ResyncOf = again, More = true }).Resync);
        var last = TakeResync(Batch(6, wumpus) with { ResyncOf = again });
        Assert.Equal(ResyncStep.NetjoinComplete, last.Resync);
        Assert.Equal("part", Assert.Single(last.Deliveries).Stanza.Element(Ns.Client + "body")?.Value);
    }

    [Fact]
    public void A_netjoin_decided_but_not_applied_changes_nothing_and_a_split_abandons_one_under_way()
    {
        EnterLocally(BigCheese, "BigCheese", sequence: 1);
        var decided = _state.Process(new NetjoinRequested(LinkState.Split));
        var netjoin = decided.Netjoin!.NetjoinId;

        Assert.Null(_state.NetjoinId);
        Assert.Equal(netjoin, _state.Process(new NetjoinRequested(LinkState.Split)).Netjoin?.NetjoinId);
        Assert.Equal(ResyncStep.Ignored, _state.Process(new BatchFromPrimary(Batch(2) with { ResyncOf = netjoin }, LinkState.Rejoining, Now)).Resync);

        _state.Apply(decided);
        var part = _state.Process(new BatchFromPrimary(Batch(2) with { ResyncOf = netjoin }, LinkState.Rejoining, Now));
        Assert.Equal(ResyncStep.NetjoinComplete, part.Resync);
        Assert.Contains(new ResyncPartTaken(Complete: true), part.Events);
        Assert.Equal(netjoin, _state.NetjoinId);
        Assert.Equal(1, _state.LastSequence);

        Take(new LinkSplit(Now));
        Assert.Null(_state.NetjoinId);
        Assert.Equal(ResyncStep.Ignored, TakeResync(Batch(2) with { ResyncOf = netjoin }).Resync);
        Assert.NotEqual(netjoin, StartNetjoin().NetjoinId);
    }

    /// <summary>What the replica does with a batch: applies it, ignores it, or starts a netjoin (and why, when it was out of step).</summary>
    private string Verdict(ReplicaBatch batch, LinkState link)
    {
        var outcome = _state.Process(new BatchFromPrimary(batch, link, Now));
        if (outcome.Netjoin is not null) return "netjoin: " + outcome.NetjoinWhy;
        return outcome.Events.OfType<ReplicaBatchApplied>().Any() ? "applied" : "ignored";
    }

    private ReplicaOutcome Take(ReplicaRoomCommand command) => _state.Apply(_state.Process(command));

    private ReplicaOutcome TakeResync(ReplicaBatch resync) => Take(new BatchFromPrimary(resync, LinkState.Rejoining, Now));

    private ResyncReplica StartNetjoin() => Take(new NetjoinRequested(LinkState.Split)).Netjoin!;

    /// <summary>The batches up to <paramref name="sequence"/>, applied in order.</summary>
    private void Applied(long sequence)
    {
        for (var next = _state.LastSequence + 1; next <= sequence; next++) Take(new BatchFromPrimary(Batch(next), LinkState.Linked, Now));
    }

    private void EnterLocally(Jid user, string nick, long sequence)
    {
        Take(new LocalStanzaArrived(Parse($"<presence from='{user}' to='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>"), LinkState.Linked, Now));
        Take(new BatchFromPrimary(Batch(sequence, new ReplicaItem(Parse($"<presence from='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc#user'>" +
            "<item affiliation='none' role='participant'/><status code='110'/></x></presence>"), [user], new ReplicaEnter(user, null))), LinkState.Linked, Now));
    }

    private static ReplicaBatch Batch(long sequence, params ReplicaItem[] items) => new(Room, OwnHost, sequence, items);
}
