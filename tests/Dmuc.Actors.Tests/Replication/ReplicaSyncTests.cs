using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>The replica's sequence conditions and its half of a netjoin, as ReplicaRoom asks them.</summary>
public sealed class ReplicaSyncTests
{
    private const string OwnHost = "vesa.yeggmaex.irc";
    private static readonly Jid Room = Jid.Parse("wallops@channel.avalon.irc");
    private static readonly Jid BigCheese = Jid.Parse("rubenro@vesa.yeggmaex.irc/shaver");
    private static readonly DateTimeOffset Now = new(1990, 10, 13, 23, 58, 37, TimeSpan.Zero);

    private readonly ReplicaRoomState _state = new(Room, OwnHost);
    private readonly ReplicaSync _sync;

    public ReplicaSyncTests() => _sync = new ReplicaSync(_state);

    [Fact]
    public void The_next_batch_is_applied_and_one_past_a_gap_starts_a_netjoin()
    {
        Applied(1);

        Assert.Equal(BatchVerdict.Apply, _sync.Judge(Batch(2), LinkState.Linked).Verdict);
        var (verdict, why) = _sync.Judge(Batch(4), LinkState.Linked);
        Assert.Equal(BatchVerdict.Resync, verdict);
        Assert.Equal("batch 4 after 1", why);
    }

    [Fact]
    public void A_replica_that_never_applied_a_batch_takes_its_first_whatever_its_number()
    {
        Assert.Equal(BatchVerdict.Apply, _sync.Judge(Batch(17), LinkState.Linked).Verdict);
    }

    [Fact]
    public void Batches_are_ignored_while_the_link_is_split_or_rejoining()
    {
        Applied(1);

        Assert.Equal(BatchVerdict.Ignore, _sync.Judge(Batch(2), LinkState.Split).Verdict);
        Assert.Equal(BatchVerdict.Ignore, _sync.Judge(Batch(2), LinkState.Rejoining).Verdict);
    }

    [Fact]
    public void A_lower_number_is_a_restarted_primary_only_when_the_replica_has_occupants_it_would_have_forgotten()
    {
        Applied(5);
        Assert.Equal(BatchVerdict.Apply, _sync.Judge(Batch(1), LinkState.Linked).Verdict);

        EnterLocally(BigCheese, "BigCheese", sequence: 6);
        Assert.Equal(BatchVerdict.Resync, _sync.Judge(Batch(2), LinkState.Linked).Verdict);
    }

    [Fact]
    public void A_ping_or_pong_past_what_was_applied_shows_batches_lost_in_a_cut_too_short_to_notice()
    {
        Applied(3);

        Assert.Null(_sync.OutOfStep(3, LinkState.Linked));
        Assert.Equal("the primary sent up to batch 5, we applied 3", _sync.OutOfStep(5, LinkState.Linked));
        Assert.Null(_sync.OutOfStep(5, LinkState.Split));
        Assert.Null(_sync.OutOfStep(null, LinkState.Linked));
    }

    [Fact]
    public void The_service_address_applies_every_batch_and_never_resyncs()
    {
        var service = new ReplicaSync(new ReplicaRoomState(Jid.Parse("channel.avalon.irc"), OwnHost));

        Assert.Equal(BatchVerdict.Apply, service.Judge(Batch(9), LinkState.Split).Verdict);
        Assert.Null(service.OutOfStep(9, LinkState.Linked));
    }

    [Fact]
    public void Only_the_resync_of_the_latest_netjoin_is_taken_and_it_forgets_only_the_held_stanzas_reported()
    {
        EnterLocally(BigCheese, "BigCheese", sequence: 1);
        _state.Apply(_state.DecideDuringSplit(Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese'><show>away</show></presence>"), Now));
        var first = StartNetjoin();
        var second = StartNetjoin();
        _state.Apply(_state.DecideDuringSplit(Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese'><show>xa</show></presence>"), Now));

        Assert.Null(TakeResync(Batch(2) with { ResyncOf = first.NetjoinId }, LinkState.Rejoining));
        Assert.Null(TakeResync(Batch(2) with { ResyncOf = second.NetjoinId }, LinkState.Split));

        Assert.True(TakeResync(Batch(2) with { ResyncOf = second.NetjoinId }, LinkState.Rejoining)?.Complete);

        Assert.Equal("xa", Assert.Single(_state.HeldDuringSplit).Stanza.Element(Ns.Client + "show")?.Value);
        Assert.Null(_sync.NetjoinId);
        Assert.Null(TakeResync(Batch(3) with { ResyncOf = second.NetjoinId }, LinkState.Rejoining));
    }

    [Fact]
    public void A_resync_in_parts_ends_the_netjoin_with_its_last_part_and_a_lost_part_fails_it()
    {
        EnterLocally(BigCheese, "BigCheese", sequence: 1);
        var netjoin = StartNetjoin().NetjoinId;
        var wumpus = new ReplicaItem(Parse($"<message from='{Room}/Wumpus' type='groupchat'><body>part</body></message>"), null);

        Assert.False(TakeResync(Batch(2, wumpus) with { ResyncOf = netjoin, More = true }, LinkState.Rejoining)?.Complete);
        Assert.Null(TakeResync(Batch(4, wumpus) with { ResyncOf = netjoin }, LinkState.Rejoining));
        Assert.Equal(netjoin, _sync.NetjoinId);

        var again = StartNetjoin().NetjoinId;
        Assert.False(TakeResync(Batch(5, wumpus) with { ResyncOf = again, More = true }, LinkState.Rejoining)?.Complete);
        var last = TakeResync(Batch(6, wumpus) with { ResyncOf = again }, LinkState.Rejoining);
        Assert.True(last?.Complete);
        Assert.Equal("part", Assert.Single(last!.Outcome.Deliveries).Stanza.Element(Ns.Client + "body")?.Value);
    }

    [Fact]
    public void A_netjoin_decided_but_not_applied_changes_nothing_and_a_split_abandons_one_under_way()
    {
        EnterLocally(BigCheese, "BigCheese", sequence: 1);
        var decided = _sync.DecideNetjoin(OwnHost, null);

        Assert.Null(_sync.NetjoinId);
        Assert.Equal(decided.Report.NetjoinId, _sync.DecideNetjoin(OwnHost, null).Report.NetjoinId);
        Assert.Null(_sync.DecideResync(Batch(2) with { ResyncOf = decided.Report.NetjoinId }, LinkState.Rejoining));

        _sync.Apply(decided);
        var part = _sync.DecideResync(Batch(2) with { ResyncOf = decided.Report.NetjoinId }, LinkState.Rejoining);
        Assert.Equal(new ResyncPartTaken(Complete: true), part?.Taken);
        Assert.Equal(decided.Report.NetjoinId, _sync.NetjoinId);
        Assert.Equal(1, _state.LastSequence);

        _sync.Apply(NetjoinAbandoned.Instance);
        Assert.Null(_sync.NetjoinId);
        Assert.Null(_sync.DecideResync(Batch(2) with { ResyncOf = decided.Report.NetjoinId }, LinkState.Rejoining));
        Assert.NotEqual(decided.Report.NetjoinId, StartNetjoin().NetjoinId);
    }

    /// <summary>As the replica room does: a part taken is applied before the next arrives.</summary>
    private ResyncPart? TakeResync(ReplicaBatch resync, LinkState link)
    {
        if (_sync.DecideResync(resync, link) is not { } part) return null;
        _sync.Apply(part.Taken);
        _state.Apply(part.Outcome);
        return part;
    }

    private ResyncReplica StartNetjoin()
    {
        var started = _sync.DecideNetjoin(OwnHost, null);
        _sync.Apply(started);
        return started.Report;
    }

    private void Applied(long sequence) => _state.Apply(_state.DecideBatch(Batch(sequence)));

    private void EnterLocally(Jid user, string nick, long sequence)
    {
        _state.Apply(_state.DecideLocalStanza(Parse($"<presence from='{user}' to='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")));
        _state.Apply(_state.DecideBatch(Batch(sequence, new ReplicaItem(Parse($"<presence from='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc#user'>" +
            "<item affiliation='none' role='participant'/><status code='110'/></x></presence>"), [user], new ReplicaEnter(user, null)))));
    }

    private static ReplicaBatch Batch(long sequence, params ReplicaItem[] items) => new(Room, OwnHost, sequence, items);
}
