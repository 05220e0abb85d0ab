using Akka.Actor;
using Akka.Configuration;

namespace Dmuc.Actors.Replication;

/// <summary>
/// Keepalive and netsplit timings of the primary/replica links (XEP-0282 §4.10–4.11), from
/// <c>dmuc.replication</c> in the actor system's configuration.
/// </summary>
/// <param name="KeepaliveInterval">A link that has heard nothing from the other side for this long pings it.</param>
/// <param name="PingTimeout">A ping not answered within this marks the link split.</param>
/// <param name="SplitPingInterval">How often a split link pings, to notice the other side is back.</param>
/// <param name="ShowSplitUsersAway">Whether a room shows the occupants of a split host as away to everyone else
/// until the host rejoins (§4.11.1 MAY; <see cref="SplitHostAway"/>).</param>
public sealed record ReplicationSettings(TimeSpan KeepaliveInterval, TimeSpan PingTimeout, TimeSpan SplitPingInterval,
    bool ShowSplitUsersAway = false)
{
    public const string ConfigPath = "dmuc.replication";

    public static readonly ReplicationSettings Default = new(
        KeepaliveInterval: TimeSpan.FromSeconds(15), PingTimeout: TimeSpan.FromSeconds(10), SplitPingInterval: TimeSpan.FromSeconds(2));

    public static ReplicationSettings From(Config config)
    {
        var section = config.GetConfig(ConfigPath);
        if (section is null || section.IsEmpty) return Default;
        return new ReplicationSettings(
            section.GetTimeSpan("keepalive-interval", Default.KeepaliveInterval),
            section.GetTimeSpan("ping-timeout", Default.PingTimeout),
            section.GetTimeSpan("split-ping-interval", Default.SplitPingInterval),
            section.GetBoolean("show-split-users-away", Default.ShowSplitUsersAway));
    }

    /// <summary>The settings of <paramref name="system"/>, read once.</summary>
    public static ReplicationSettings Of(ActorSystem system) => system.WithExtension<Holder, HolderId>().Settings;

    private sealed class Holder(ReplicationSettings settings) : IExtension
    {
        public ReplicationSettings Settings { get; } = settings;
    }

    private sealed class HolderId : ExtensionIdProvider<Holder>
    {
        public override Holder CreateExtension(ExtendedActorSystem system) => new(From(system.Settings.Config));
    }
}
