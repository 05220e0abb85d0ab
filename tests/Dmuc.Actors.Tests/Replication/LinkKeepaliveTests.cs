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

    public LinkKeepaliveTests() => _keepalive.Heard(_start);

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
        _keepalive.Heard(_start + TimeSpan.FromSeconds(10));

        Assert.Equal(KeepaliveAction.None, _keepalive.Check(_start + Settings.KeepaliveInterval).Action);
        Assert.Equal(KeepaliveAction.Ping, _keepalive.Check(_start + TimeSpan.FromSeconds(10) + Settings.KeepaliveInterval).Action);
    }

    [Fact]
    public void A_ping_in_flight_is_not_repeated_and_marks_the_link_split_once_it_times_out()
    {
        var sentAt = _start + Settings.KeepaliveInterval;
        _keepalive.StartPing(sentAt);

        Assert.Equal(KeepaliveAction.None, _keepalive.Check(sentAt + Settings.PingTimeout - Moment).Action);
        Assert.Equal(Settings.PingTimeout, _keepalive.Check(sentAt).CheckAgainIn);
        Assert.Equal(KeepaliveAction.MarkSplit, _keepalive.Check(sentAt + Settings.PingTimeout).Action);
    }

    [Fact]
    public void Traffic_from_the_other_end_does_not_answer_a_ping_in_flight()
    {
        var sentAt = _start + Settings.KeepaliveInterval;
        _keepalive.StartPing(sentAt);
        _keepalive.Heard(sentAt + TimeSpan.FromSeconds(1));

        Assert.Equal(KeepaliveAction.MarkSplit, _keepalive.Check(sentAt + Settings.PingTimeout).Action);
    }

    [Fact]
    public void The_answer_to_the_ping_in_flight_gives_the_round_trip_and_ends_the_wait()
    {
        var sentAt = _start + Settings.KeepaliveInterval;
        var id = _keepalive.StartPing(sentAt);

        _keepalive.Answered(id, sentAt + TimeSpan.FromMilliseconds(40));

        Assert.Equal(TimeSpan.FromMilliseconds(40), _keepalive.LastRtt);
        Assert.Equal(TimeSpan.FromMilliseconds(40), _keepalive.AverageRtt);
        Assert.Equal(KeepaliveAction.None, _keepalive.Check(sentAt + Settings.PingTimeout).Action);
    }

    [Fact]
    public void The_average_round_trip_weighs_the_newest_sample_one_fifth()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), AnsweredPing(_start, TimeSpan.FromMilliseconds(100)));
        Assert.Equal(TimeSpan.FromMilliseconds(0.8 * 100 + 0.2 * 200), AnsweredPing(_start + TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(200)));
        Assert.Equal(TimeSpan.FromMilliseconds(200), _keepalive.LastRtt);
    }

    [Fact]
    public void A_late_answer_to_an_earlier_ping_counts_as_traffic_but_not_as_a_round_trip()
    {
        var earlier = _keepalive.StartPing(_start);
        _keepalive.MarkSplit(_start + Settings.PingTimeout);
        var current = _keepalive.StartPing(_start + Settings.PingTimeout);

        _keepalive.Answered(earlier, _start + Settings.PingTimeout + Moment);

        Assert.NotEqual(earlier, current);
        Assert.Null(_keepalive.LastRtt);
        Assert.Null(_keepalive.AverageRtt);
    }

    [Fact]
    public void A_split_link_pings_on_every_check_at_the_split_ping_interval()
    {
        var splitAt = _start + TimeSpan.FromSeconds(25);
        _keepalive.MarkSplit(splitAt);

        Assert.Equal(LinkState.Split, _keepalive.State);
        Assert.False(_keepalive.IsLinked);
        foreach (var later in new[] { splitAt, splitAt + Settings.SplitPingInterval, splitAt + TimeSpan.FromMinutes(5) })
            Assert.Equal((KeepaliveAction.Ping, Settings.SplitPingInterval), _keepalive.Check(later));
    }

    [Fact]
    public void The_split_keeps_the_time_it_began_until_the_link_is_linked_again()
    {
        var splitAt = _start + TimeSpan.FromSeconds(25);
        _keepalive.MarkSplit(splitAt);
        _keepalive.MarkRejoining(splitAt + TimeSpan.FromSeconds(5));
        _keepalive.MarkSplit(splitAt + TimeSpan.FromSeconds(20));

        Assert.Equal(splitAt, _keepalive.SplitSince);

        _keepalive.MarkLinked(splitAt + TimeSpan.FromSeconds(30));

        Assert.Null(_keepalive.SplitSince);
        Assert.Equal(LinkState.Linked, _keepalive.State);
    }

    [Fact]
    public void A_split_ping_left_unanswered_by_the_netjoin_does_not_split_the_link_again()
    {
        // Found by the netsplit drills: a split link pings on every check; the answer to an earlier ping starts the
        // netjoin while the latest ping is still in flight (or was lost with the cut).
        var splitAt = _start + TimeSpan.FromSeconds(25);
        _keepalive.MarkSplit(splitAt);
        var answered = _keepalive.StartPing(splitAt);
        _keepalive.StartPing(splitAt + Settings.SplitPingInterval);
        var linkedAt = splitAt + Settings.SplitPingInterval + Moment;
        _keepalive.Answered(answered, linkedAt);
        _keepalive.MarkRejoining(linkedAt);
        _keepalive.MarkLinked(linkedAt);

        Assert.Equal((KeepaliveAction.None, Settings.KeepaliveInterval - Settings.PingTimeout),
            _keepalive.Check(linkedAt + Settings.PingTimeout));
    }

    [Fact]
    public void A_netjoin_without_a_resync_within_the_ping_timeout_falls_back_to_split()
    {
        var rejoiningAt = _start + TimeSpan.FromSeconds(30);
        _keepalive.MarkSplit(_start + TimeSpan.FromSeconds(25));
        _keepalive.MarkRejoining(rejoiningAt);

        var (waiting, checkAgainIn) = _keepalive.Check(rejoiningAt + TimeSpan.FromSeconds(4));
        Assert.Equal(KeepaliveAction.None, waiting);
        Assert.Equal(Settings.PingTimeout - TimeSpan.FromSeconds(4), checkAgainIn);
        Assert.Equal(KeepaliveAction.MarkSplit, _keepalive.Check(rejoiningAt + Settings.PingTimeout).Action);
    }

    [Fact]
    public void A_link_linked_again_waits_a_whole_keepalive_interval_before_its_next_ping()
    {
        _keepalive.MarkSplit(_start + TimeSpan.FromSeconds(25));
        var linkedAt = _start + TimeSpan.FromSeconds(30);
        _keepalive.MarkLinked(linkedAt);

        Assert.Equal((KeepaliveAction.None, Settings.KeepaliveInterval), _keepalive.Check(linkedAt));
    }

    [Fact]
    public void A_check_that_is_late_asks_to_look_again_soon_rather_than_in_the_past()
    {
        _keepalive.StartPing(_start);

        Assert.True(_keepalive.Check(_start + Settings.PingTimeout - Moment).CheckAgainIn > TimeSpan.Zero);
    }

    private TimeSpan? AnsweredPing(DateTimeOffset sentAt, TimeSpan rtt)
    {
        _keepalive.Answered(_keepalive.StartPing(sentAt), sentAt + rtt);
        return _keepalive.AverageRtt;
    }
}
