using Akka.Configuration;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// A <see cref="DmucTestCluster"/> whose nodes run with keepalive timings of a few hundred milliseconds and the
/// production split tolerance (no automatic downing), with a <see cref="NetsplitSimulator"/> to cut and heal its links.
/// </summary>
public sealed class NetsplitCluster : IAsyncDisposable
{
    public static readonly ReplicationSettings FastKeepalive = new(
        KeepaliveInterval: TimeSpan.FromMilliseconds(300), PingTimeout: TimeSpan.FromMilliseconds(500),
        SplitPingInterval: TimeSpan.FromMilliseconds(200));

    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The fast keepalive over the settings production nodes run with; split replicas also take entries (the XEP's
    /// DANGER, off in production) so that the tests can collide nicks.
    /// </summary>
    public static Config Settings { get; } = ConfigurationFactory.ParseString($$"""
        {{ReplicationSettings.ConfigPath}} {
          keepalive-interval = {{FastKeepalive.KeepaliveInterval.TotalMilliseconds}}ms
          ping-timeout = {{FastKeepalive.PingTimeout.TotalMilliseconds}}ms
          split-ping-interval = {{FastKeepalive.SplitPingInterval.TotalMilliseconds}}ms
          split-entries = on
        }
        """).WithFallback(ConfigurationFactory.ParseString(ReplicationHosting.SplitToleranceHocon));

    private NetsplitCluster(DmucTestCluster cluster)
    {
        Cluster = cluster;
        Links = new NetsplitSimulator(cluster);
    }

    public DmucTestCluster Cluster { get; }

    public NetsplitSimulator Links { get; }

    public static async Task<NetsplitCluster> StartAsync(params DmucNodeSpec[] specs) =>
        new(await DmucTestCluster.StartAsync(specs, Settings));

    /// <summary>Waits until both ends of the room's link to <paramref name="host"/> are in <paramref name="state"/>.</summary>
    public Task WaitForLinkStateAsync(string room, string host, LinkState state, TimeSpan? timeout = null) =>
        Eventually.HoldsAsync(async () => (await Cluster.InspectLinkAsync(room, host)).State == state
                                          && (await Cluster.InspectReplicaAsync(room, host)).State == state,
            $"the link of {room} to {host} to be {state}", timeout ?? DefaultWait);

    /// <summary>Waits until the replica of the room on <paramref name="host"/> is in <paramref name="state"/>.</summary>
    public Task WaitForReplicaStateAsync(string room, string host, LinkState state) =>
        Eventually.HoldsAsync(async () => (await Cluster.InspectReplicaAsync(room, host)).State == state,
            $"the replica on {host} to be {state}", DefaultWait);

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}
