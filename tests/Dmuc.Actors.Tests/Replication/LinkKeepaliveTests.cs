using Dmuc.Actors.Replication;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>XEP-0282 §4.10–4.11.1 as one end of a link decides it (docs/protocol/netjoin.md §1–2), on a made-up clock.</summary>
public sealed class LinkKeepaliveTests
{
    private static readonly ReplicationSettings Settings = new(
        KeepaliveInterval: TimeSpan.FromSeconds(15), PingTimeout: TimeSpan.FromSeconds(10), SplitPingInterval: TimeSpan.FromSeconds(2));
    private static readonly TimeSpan Moment = TimeSpan.FromMilliseconds(1);

    private readonly LinkKeepalive _keepalive = new(Settings);
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;

    public LinkKeepaliveTests() => _keepalive.Handle(new OtherEndHeard(_start));

    [Fact]
    public void A_link_that_heard_from_the_other_end_recently_waits_until_the_keepalive_interval_is_up()
    {
        var (action, checkAgainIn) = _keepalive.Check(_start + TimeSpan.FromSeconds(5));

        Assert.Equal(KeepaliveAction.None, action);
        Assert.Equal(TimeSpan.FromSeconds(10), checkAgainIn);
    }

    [Fact]
    public void A_link_that_heard_nothing_for_the_keepalive_interval_pings_and_looks_again_when_the_ping_would_time_out()
    {
        var (action, checkAgainIn) = _keepalive.Check(_start + Settings.KeepaliveInterval);

        Assert.Equal(KeepaliveAction.Ping, action);
        Assert.Equal(Settings.PingTimeout, checkAgainIn);
    }

    [Fact]
    public void Hearing_anything_from_the_other_end_puts_the_next_ping_off()
    {
        _keepalive.Handle(new OtherEndHeard(_start + TimeSpan.FromSeconds(10)));

        Assert.Equal(KeepaliveAction.None, _keepalive.Check(_start + Settings.KeepaliveInterval).Action);
        Assert.Equal(KeepaliveAction.Ping, _keepalive.Check(_start + TimeSpan.FromSeconds(10) + Settings.KeepaliveInterval).Action);
    }

    [Fact]
    public void A_ping_in_flight_is_not_repeated_and_marks_the_link_split_once_it_times_out()
    {
        var sentAt = _start + Settings.KeepaliveInterval;
        _keepalive.Ping(sentAt);

        Assert.Equal(KeepaliveAction.None, _keepalive.Check(sentAt + Settings.PingTimeout - Moment).Action);
        Assert.Equal(Settings.PingTimeout, _keepalive.Check(sentAt).CheckAgainIn);
        Assert.Equal(KeepaliveAction.MarkSplit, _keepalive.Check(sentAt + Settings.PingTimeout).Action);
    }

    [Fact]
    public void Traffic_from_the_other_end_does_not_answer_a_ping_in_flight()
    {
        var sentAt = _start + Settings.KeepaliveInterval;
        _keepalive.Ping(sentAt);
        _keepalive.Handle(new OtherEndHeard(sentAt + TimeSpan.FromSeconds(1)));

        Assert.Equal(KeepaliveAction.MarkSplit, _keepalive.Check(sentAt + Settings.PingTimeout).Action);
    }

    [Fact]
    public void The_answer_to_the_ping_in_flight_gives_the_round_trip_and_ends_the_wait()
    {
        var sentAt = _start + Settings.KeepaliveInterval;
        var id = _keepalive.Ping(sentAt);

        _keepalive.Handle(new PongArrived(id, sentAt + TimeSpan.FromMilliseconds(40)));

        Assert.Equal(TimeSpan.FromMilliseconds(40), _keepalive.LastRtt);
        Assert.Equal(TimeSpan.FromMilliseconds(40), _keepalive.AverageRtt);
        Assert.Equal(KeepaliveAction.None, _keepalive.Check(sentAt + Settings.PingTimeout).Action);
    }

    [Fact]
    public void The_average_round_trip_weighs_the_newest_sample_one_fifth()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), AnsweredPing(_start + Settings.KeepaliveInterval, TimeSpan.FromMilliseconds(100)));
        Assert.Equal(TimeSpan.FromMilliseconds(0.8 * 100 + 0.2 * 200), AnsweredPing(_start + TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(200)));
        Assert.Equal(TimeSpan.FromMilliseconds(200), _keepalive.LastRtt);
    }

    [Fact]
    public void A_late_answer_to_an_earlier_ping_counts_as_traffic_but_not_as_a_round_trip()
    {
        var sentAt = _start + Settings.KeepaliveInterval;
        var earlier = _keepalive.Ping(sentAt);
        Assert.Equal("ping not answered in time", _keepalive.Handle(new KeepaliveDue(sentAt + Settings.PingTimeout)).SplitReason);
        var current = _keepalive.Ping(sentAt + Settings.PingTimeout);

        _keepalive.Handle(new PongArrived(earlier, sentAt + Settings.PingTimeout + Moment));

        Assert.NotEqual(earlier, current);
        Assert.Null(_keepalive.LastRtt);
        Assert.Null(_keepalive.AverageRtt);
    }

    [Fact]
    public void A_split_link_pings_on_every_check_at_the_split_ping_interval()
    {
        var splitAt = _start + TimeSpan.FromSeconds(25);
        _keepalive.Handle(new SplitFound("cut", splitAt));

        Assert.Equal(LinkState.Split, _keepalive.State);
        Assert.False(_keepalive.IsLinked);
        foreach (var later in new[] { splitAt, splitAt + Settings.SplitPingInterval, splitAt + TimeSpan.FromMinutes(5) })
            Assert.Equal((KeepaliveAction.Ping, Settings.SplitPingInterval), _keepalive.Check(later));
    }

    [Fact]
    public void The_split_keeps_the_time_it_began_until_the_link_is_linked_again()
    {
        var splitAt = _start + TimeSpan.FromSeconds(25);
        _keepalive.Handle(new SplitFound("cut", splitAt));
        _keepalive.Handle(new NetjoinUnderWay(splitAt + TimeSpan.FromSeconds(5)));
        _keepalive.Handle(new SplitFound("cut", splitAt + TimeSpan.FromSeconds(20)));

        Assert.Equal(splitAt, _keepalive.SplitSince);

        _keepalive.Handle(new NetjoinEnded(splitAt + TimeSpan.FromSeconds(30)));

        Assert.Null(_keepalive.SplitSince);
        Assert.Equal(LinkState.Linked, _keepalive.State);
    }

    [Fact]
    public void A_split_ping_left_unanswered_by_the_netjoin_does_not_split_the_link_again()
    {
        // Found by the netsplit drills: a split link pings on every check; the answer to an earlier ping starts the
        // netjoin while the latest ping is still in flight (or was lost with the cut).
        var splitAt = _start + TimeSpan.FromSeconds(25);
        _keepalive.Handle(new SplitFound("cut", splitAt));
        var answered = _keepalive.Ping(splitAt);
        _keepalive.Ping(splitAt + Settings.SplitPingInterval);
        var linkedAt = splitAt + Settings.SplitPingInterval + Moment;
        _keepalive.Handle(new PongArrived(answered, linkedAt));
        _keepalive.Handle(new NetjoinUnderWay(linkedAt));
        _keepalive.Handle(new NetjoinEnded(linkedAt));

        Assert.Equal((KeepaliveAction.None, Settings.KeepaliveInterval - Settings.PingTimeout),
            _keepalive.Check(linkedAt + Settings.PingTimeout));
    }

    [Fact]
    public void A_netjoin_without_a_resync_within_the_ping_timeout_falls_back_to_split()
    {
        var rejoiningAt = _start + TimeSpan.FromSeconds(30);
        _keepalive.Handle(new SplitFound("cut", _start + TimeSpan.FromSeconds(25)));
        _keepalive.Handle(new NetjoinUnderWay(rejoiningAt));

        var (waiting, checkAgainIn) = _keepalive.Check(rejoiningAt + TimeSpan.FromSeconds(4));
        Assert.Equal(KeepaliveAction.None, waiting);
        Assert.Equal(Settings.PingTimeout - TimeSpan.FromSeconds(4), checkAgainIn);
        Assert.Equal(KeepaliveAction.MarkSplit, _keepalive.Check(rejoiningAt + Settings.PingTimeout).Action);
    }

    [Fact]
    public void A_link_linked_again_waits_a_whole_keepalive_interval_before_its_next_ping()
    {
        _keepalive.Handle(new SplitFound("cut", _start + TimeSpan.FromSeconds(25)));
        var linkedAt = _start + TimeSpan.FromSeconds(30);
        _keepalive.Handle(new NetjoinEnded(linkedAt));

        Assert.Equal((KeepaliveAction.None, Settings.KeepaliveInterval), _keepalive.Check(linkedAt));
    }

    [Fact]
    public void A_check_that_is_late_asks_to_look_again_soon_rather_than_in_the_past()
    {
        var sentAt = _start + Settings.KeepaliveInterval;
        _keepalive.Ping(sentAt);

        Assert.True(_keepalive.Check(sentAt + Settings.PingTimeout - Moment).CheckAgainIn > TimeSpan.Zero);
    }

    [Fact]
    public void An_end_with_nothing_to_lose_skips_the_linked_ping_and_looks_again_a_ping_wait_later_but_still_pings_to_end_a_split()
    {
        var due = _start + Settings.KeepaliveInterval;

        var quiet = _keepalive.Handle(new KeepaliveDue(due, NothingToLose: true));
        Assert.Null(quiet.PingId);
        Assert.Equal(Settings.PingTimeout, quiet.CheckAgainIn);

        _keepalive.Handle(new SplitFound("cut", due));
        Assert.NotNull(_keepalive.Handle(new KeepaliveDue(due + Settings.SplitPingInterval, NothingToLose: true)).PingId);
    }

    [Fact]
    public void A_split_is_found_once_with_its_reason_and_never_on_a_link_that_is_not_kept_alive()
    {
        var splitAt = _start + TimeSpan.FromSeconds(3);
        var found = _keepalive.Handle(new SplitFound("its host has no node in the cluster", splitAt));

        Assert.Equal("its host has no node in the cluster", found.SplitReason);
        Assert.Equal(Settings.SplitPingInterval, found.CheckAgainIn);
        Assert.Null(_keepalive.Handle(new SplitFound("again", splitAt + Moment)).SplitReason);

        var service = new LinkKeepalive(Settings, keepsAlive: false);
        Assert.Null(service.Handle(new SplitFound("cut", splitAt)).SplitReason);
        Assert.Equal(LinkState.Linked, service.State);
    }

    [Fact]
    public void Each_way_a_link_splits_names_its_reason()
    {
        var awaiting = new LinkKeepalive(Settings);
        awaiting.Handle(new OtherEndHeard(_start));
        awaiting.Handle(new AnswerAwaited(_start, _start));
        awaiting.Handle(new OtherEndHeard(_start + Settings.KeepaliveInterval));
        Assert.Equal("a forward was not acknowledged in time", awaiting.Handle(new KeepaliveDue(_start + awaiting.AnswerTimeout)).SplitReason);

        _keepalive.Handle(new SplitFound("cut", _start));
        _keepalive.Handle(new NetjoinUnderWay(_start + Moment));
        Assert.Equal("the netjoin got no answer", _keepalive.Handle(new KeepaliveDue(_start + Moment + Settings.PingTimeout)).SplitReason);
    }

    [Fact]
    public void Deciding_changes_nothing_until_the_events_are_applied()
    {
        var sentAt = _start + Settings.KeepaliveInterval;
        var decided = _keepalive.Process(new KeepaliveDue(sentAt));

        Assert.Equal(KeepaliveAction.Ping, _keepalive.Check(sentAt).Action);
        Assert.Equal(decided.PingId, _keepalive.Process(new KeepaliveDue(sentAt)).PingId);

        foreach (var happened in decided.Events) _keepalive.Apply(happened);
        Assert.Equal(KeepaliveAction.None, _keepalive.Check(sentAt).Action);
        _keepalive.Handle(new PongArrived(decided.PingId!, sentAt + Moment));
        Assert.Equal(("ping-1", "ping-2"), (decided.PingId, _keepalive.Ping(sentAt + Moment + Settings.KeepaliveInterval)));
    }

    private TimeSpan? AnsweredPing(DateTimeOffset sentAt, TimeSpan rtt)
    {
        _keepalive.Handle(new PongArrived(_keepalive.Ping(sentAt), sentAt + rtt));
        return _keepalive.AverageRtt;
    }
}

/// <summary>What a link's timer does when a ping is due.</summary>
internal static class KeepaliveTesting
{
    /// <summary>The keepalive's check at <paramref name="at"/>, which must send a ping; returns its id.</summary>
    public static string Ping(this LinkKeepalive keepalive, DateTimeOffset at) =>
        keepalive.Handle(new KeepaliveDue(at)).PingId ?? throw new InvalidOperationException($"no ping due at {at:O}");
}
