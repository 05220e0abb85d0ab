using Akka.Actor;
using Dmuc.Actors.Replication;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>When a node that serves an XMPP host beside a standby keeps its component stream up, on a made-up clock.</summary>
public sealed class HostStandbyTests
{
    private static readonly TimeSpan TakeOverAfter = TimeSpan.FromSeconds(3);
    private static readonly Address Self = new("akka.ssl.tcp", "dmuc", "127.0.0.1", 4100);
    private static readonly Address Active = new("akka.ssl.tcp", "dmuc", "127.0.0.1", 4063);
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;

    [Fact]
    public void A_standby_stays_off_until_the_cluster_names_a_node_and_while_it_names_a_reachable_other()
    {
        var standby = new HostStandby(Self, TakeOverAfter, startsStandingBy: true);

        Assert.IsType<HostStandby.StandBy>(standby.Decide(null, servingReachable: true, streamIn: false, _start));
        Assert.IsType<HostStandby.StandBy>(standby.Decide(Active, servingReachable: true, streamIn: false, _start + TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void A_node_that_is_no_standby_connects_before_it_knows_the_cluster_and_steps_back_when_it_names_another()
    {
        var node = new HostStandby(Self, TakeOverAfter, startsStandingBy: false);

        Assert.IsType<HostStandby.Serve>(node.Decide(null, servingReachable: true, streamIn: false, _start));
        Assert.IsType<HostStandby.StandBy>(node.Decide(Active, servingReachable: true, streamIn: true, _start));
    }

    [Fact]
    public void The_node_the_cluster_names_serves()
    {
        var standby = new HostStandby(Self, TakeOverAfter, startsStandingBy: true);

        Assert.IsType<HostStandby.Serve>(standby.Decide(Self, servingReachable: true, streamIn: false, _start));
    }

    [Fact]
    public void A_standby_contends_only_once_the_serving_node_has_been_unreachable_for_the_take_over_time()
    {
        var standby = new HostStandby(Self, TakeOverAfter, startsStandingBy: true);

        Assert.IsType<HostStandby.StandBy>(standby.Decide(Active, servingReachable: false, streamIn: false, _start));
        Assert.IsType<HostStandby.StandBy>(standby.Decide(Active, servingReachable: false, streamIn: false, _start + TakeOverAfter - TimeSpan.FromMilliseconds(1)));
        Assert.Equal(new HostStandby.Contend(Active), standby.Decide(Active, servingReachable: false, streamIn: false, _start + TakeOverAfter));
    }

    [Fact]
    public void A_standby_takes_over_only_once_its_own_stream_is_in_since_the_server_refuses_it_while_the_serving_nodes_stream_is()
    {
        var standby = new HostStandby(Self, TakeOverAfter, startsStandingBy: true);
        standby.Decide(Active, servingReachable: false, streamIn: false, _start);

        Assert.Equal(new HostStandby.Contend(Active), standby.Decide(Active, servingReachable: false, streamIn: false, _start + TimeSpan.FromSeconds(10)));
        Assert.Equal(new HostStandby.TakeOver(Active), standby.Decide(Active, servingReachable: false, streamIn: true, _start + TimeSpan.FromSeconds(11)));
    }

    [Fact]
    public void A_serving_node_that_is_reachable_again_puts_the_standby_back_and_its_next_unreachability_is_timed_afresh()
    {
        var standby = new HostStandby(Self, TakeOverAfter, startsStandingBy: true);
        standby.Decide(Active, servingReachable: false, streamIn: false, _start);
        Assert.IsType<HostStandby.Contend>(standby.Decide(Active, servingReachable: false, streamIn: false, _start + TakeOverAfter));

        Assert.IsType<HostStandby.StandBy>(standby.Decide(Active, servingReachable: true, streamIn: true, _start + TimeSpan.FromSeconds(4)));
        Assert.IsType<HostStandby.StandBy>(standby.Decide(Active, servingReachable: false, streamIn: false, _start + TimeSpan.FromSeconds(5)));
        Assert.IsType<HostStandby.Contend>(standby.Decide(Active, servingReachable: false, streamIn: false, _start + TimeSpan.FromSeconds(5) + TakeOverAfter));
    }
}
