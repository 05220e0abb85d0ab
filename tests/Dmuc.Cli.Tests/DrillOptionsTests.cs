using Dmuc.Host;
using Dmuc.Host.Drills;

namespace Dmuc.Cli.Tests;

public sealed class DrillOptionsTests
{
    [Fact]
    public void A_bare_drill_switch_gets_a_value_so_that_it_does_not_swallow_the_next_switch() =>
        Assert.Equal(["--allow-netsplit-drills=true", "--role", "Replica"],
            DrillOptions.WithFlagValues(["--allow-netsplit-drills", "--role", "Replica"]));

    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    public void A_drill_switch_with_a_value_is_left_alone(string value) =>
        Assert.Equal(["--allow-netsplit-drills", value], DrillOptions.WithFlagValues(["--allow-netsplit-drills", value]));

    [Fact]
    public void A_seed_takes_the_nodes_own_scheme_tls_and_with_drills_on_the_throttler()
    {
        Assert.Equal("akka.trttl.ssl.tcp://dmuc@10.0.0.1:4053", new DrillOptions { Netsplit = true }.SeedAddress("akka.tcp://dmuc@10.0.0.1:4053"));
        Assert.Equal("akka.trttl.ssl.tcp://dmuc@10.0.0.1:4053", new DrillOptions { Netsplit = true }.SeedAddress("akka.trttl.tcp://dmuc@10.0.0.1:4053"));
        Assert.Equal("akka.ssl.tcp://dmuc@10.0.0.1:4053", new DrillOptions().SeedAddress("akka.tcp://dmuc@10.0.0.1:4053"));
        Assert.Equal("akka.ssl.tcp://dmuc@10.0.0.1:4053", new DrillOptions().SeedAddress("akka.ssl.tcp://dmuc@10.0.0.1:4053"));
    }

    [Fact]
    public void Replication_timings_become_hocon_only_when_set()
    {
        Assert.Null(new ReplicationTimingOptions().ToHocon());
        var hocon = new ReplicationTimingOptions { KeepaliveInterval = TimeSpan.FromMilliseconds(500), SplitPingInterval = TimeSpan.FromSeconds(2) }.ToHocon();
        var settings = Dmuc.Actors.Replication.ReplicationSettings.From(Akka.Configuration.ConfigurationFactory.ParseString(hocon));
        Assert.Equal((TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2)), (settings.KeepaliveInterval, settings.SplitPingInterval));
        Assert.Equal(Dmuc.Actors.Replication.ReplicationSettings.Default.PingTimeout, settings.PingTimeout);
    }
}
