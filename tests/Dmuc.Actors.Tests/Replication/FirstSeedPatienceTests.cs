using Akka.Actor;
using Dmuc.Actors.Replication;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// When the first seed forms a cluster of its own (<see cref="FirstSeedPatience"/>, docs/operations.md#seeds): only when every
/// other seed has been down for the grace period, never beside a cluster that still runs.
/// </summary>
public sealed class FirstSeedPatienceTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(20);
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);
    private static readonly Address Killrc = new("akka.ssl.tcp", "dmuc", "127.0.0.1", 21013);
    private static readonly Address Eris = new("akka.ssl.tcp", "dmuc", "127.0.0.1", 21023);
    private readonly FirstSeedPatience _patience = new([Killrc, Eris], Start, Grace);

    [Fact]
    public void With_every_other_seed_down_it_forms_a_cluster_after_the_grace_period_and_not_before()
    {
        Assert.False(_patience.JoinsItself(Start + Grace - TimeSpan.FromSeconds(1)));
        Assert.True(_patience.JoinsItself(Start + Grace));
    }

    [Fact]
    public void While_another_seed_is_up_it_waits_to_be_taken_in_however_long_that_takes()
    {
        // A drill's throttler names the same node with another scheme.
        _patience.Associated(new Address("akka.trttl.ssl.tcp", "dmuc", "127.0.0.1", 21023), Start.AddSeconds(2));

        Assert.False(_patience.JoinsItself(Start + 10 * Grace));
        Assert.True(_patience.WaitsLong(Start + 10 * Grace));
        Assert.Equal(["127.0.0.1:21023"], _patience.SeedsInCluster(Start + 10 * Grace));
    }

    [Fact]
    public void A_seed_that_went_down_counts_as_up_for_the_grace_period_after()
    {
        _patience.Associated(Eris, Start.AddSeconds(2));
        _patience.Disassociated(Eris, Start.AddSeconds(30));

        Assert.False(_patience.JoinsItself(Start.AddSeconds(30) + Grace - TimeSpan.FromSeconds(1)));
        Assert.True(_patience.JoinsItself(Start.AddSeconds(30) + Grace));
    }

    /// <summary>
    /// A first start of the whole cluster: the others are up but starting too (they announce themselves every second until
    /// they are in a cluster), and their answers to Akka's join requests were lost. Once one of them is in a cluster, it
    /// holds the first seed back again.
    /// </summary>
    [Fact]
    public void Seeds_up_but_not_in_a_cluster_yet_do_not_hold_it_back()
    {
        _patience.Associated(Killrc, Start.AddSeconds(1));
        _patience.Associated(Eris, Start.AddSeconds(1));
        for (var second = 1; second <= 20; second++)
        {
            _patience.Announced(Killrc, Start.AddSeconds(second));
            _patience.Announced(Eris, Start.AddSeconds(second));
        }

        Assert.True(_patience.JoinsItself(Start + Grace));
        Assert.False(_patience.JoinsItself(Start + Grace + FirstSeedPatience.AnnouncedWithin));
        Assert.Equal(["127.0.0.1:21013", "127.0.0.1:21023"], _patience.SeedsInCluster(Start + Grace + FirstSeedPatience.AnnouncedWithin));
    }

    [Fact]
    public void A_node_that_is_not_a_seed_does_not_hold_it_back()
    {
        _patience.Associated(new Address("akka.ssl.tcp", "dmuc", "127.0.0.1", 21033), Start.AddSeconds(2));

        Assert.True(_patience.JoinsItself(Start + Grace));
        Assert.False(_patience.WaitsLong(Start + Grace));
    }
}
