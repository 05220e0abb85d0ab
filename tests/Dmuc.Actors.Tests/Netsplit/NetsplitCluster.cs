using Akka.Configuration;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Rooms;

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
    public static Config Settings { get; } = SettingsWith(FastKeepalive);

    /// <summary><paramref name="keepalive"/> over the split tolerance production nodes run with, with entries during splits on.</summary>
    public static Config SettingsWith(ReplicationSettings keepalive) => ConfigurationFactory.ParseString($$"""
        {{ReplicationSettings.ConfigPath}} {
          keepalive-interval = {{keepalive.KeepaliveInterval.TotalMilliseconds}}ms
          ping-timeout = {{keepalive.PingTimeout.TotalMilliseconds}}ms
          split-ping-interval = {{keepalive.SplitPingInterval.TotalMilliseconds}}ms
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

    public static Task<NetsplitCluster> StartAsync(params DmucNodeSpec[] specs) => StartAsync(specs, overrides: null);

    /// <param name="overrides">Settings that take precedence over <see cref="Settings"/> (an optional behaviour turned on, say).</param>
    public static async Task<NetsplitCluster> StartAsync(IReadOnlyList<DmucNodeSpec> specs, Config? overrides) =>
        new(await DmucTestCluster.StartAsync(specs, overrides is null ? Settings : overrides.WithFallback(Settings)));

    /// <param name="settings">The nodes' settings, <see cref="SettingsWith"/> some keepalive and anything else.</param>
    /// <param name="options">The MUC service's settings (history length, say); the test cluster's when null.</param>
    public static async Task<NetsplitCluster> StartAsync(Config settings, MucServiceOptions? options, params DmucNodeSpec[] specs) =>
        new(await DmucTestCluster.StartAsync(specs, settings, options));

    /// <summary>Waits until both ends of the room's link to <paramref name="host"/> are in <paramref name="state"/>.</summary>
    public Task WaitForLinkStateAsync(string room, string host, LinkState state, TimeSpan? timeout = null) =>
        Eventually.HoldsAsync(async () => (await Cluster.InspectLinkAsync(room, host)).State == state
                                          && (await Cluster.InspectReplicaAsync(room, host)).State == state,
            $"the link of {room} to {host} to be {state}", timeout ?? DefaultWait);

    /// <summary>
    /// Waits until both ends of the room's link to <paramref name="host"/> are Linked and the replica applied every
    /// batch the primary sent: nothing is missing or on its way, so what is said next reaches the host live.
    /// </summary>
    public Task WaitUntilInStepAsync(string room, string host, TimeSpan? timeout = null) =>
        Eventually.HoldsAsync(async () =>
            {
                var link = await Cluster.InspectLinkAsync(room, host);
                var replica = await Cluster.InspectReplicaAsync(room, host);
                return link.State == LinkState.Linked && replica.State == LinkState.Linked && replica.LastSequence == link.BatchesSent;
            },
            $"the replica of {room} on {host} to be linked and in step with its primary", timeout ?? DefaultWait);

    /// <summary>Waits until the replica of the room on <paramref name="host"/> is in <paramref name="state"/>.</summary>
    public Task WaitForReplicaStateAsync(string room, string host, LinkState state) =>
        Eventually.HoldsAsync(async () => (await Cluster.InspectReplicaAsync(room, host)).State == state,
            $"the replica on {host} to be {state}", DefaultWait);

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}
