using Akka.Configuration;
using Dmuc.Actors.Tests.Replication;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// Tests that change a cluster for good (an option turned on, a node restarted, a long cut): each gets a cluster of
/// its own, avalon.irc (primary) and killrc, with the fast keepalive of <see cref="NetsplitCluster"/>.
/// </summary>
/// <param name="overrides">Settings over <see cref="NetsplitCluster.Settings"/> for every node.</param>
public abstract class AvalonKillrcClusterTests(Config? overrides = null) : IAsyncLifetime
{
    protected NetsplitCluster Netsplit { get; private set; } = null!;

    protected DmucTestCluster Cluster => Netsplit.Cluster;

    public async Task InitializeAsync() =>
        Netsplit = await NetsplitCluster.StartAsync([new DmucNodeSpec(Avalon, IsPrimary: true), new DmucNodeSpec(Killrc)], overrides);

    public async Task DisposeAsync() => await Netsplit.DisposeAsync();
}
