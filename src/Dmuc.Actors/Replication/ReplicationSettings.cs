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
    /// <summary>What a split replica serves its users itself (§4.11.1's MAYs).</summary>
    public SplitServing Split { get; init; } = SplitServing.Default;

    /// <summary>
    /// The most a resync part's items may weigh as XML: three quarters of the remoting frame
    /// (<c>akka.remote.dot-netty.tcp.maximum-frame-size</c>), leaving room for the batch's own element and Akka's envelope.
    /// </summary>
    public long ResyncPartBytes { get; init; } = DefaultFrameBytes * 3 / 4;

    /// <summary>
    /// How often at most a room journals a replica host's receipt (<see cref="ReceiptJournaling"/>): a room that restarts
    /// resumes a replica node that crashed meanwhile from what it journaled, so its users may get this much of the room's
    /// last messages again.
    /// </summary>
    public TimeSpan ReceiptJournalInterval { get; init; } = TimeSpan.FromSeconds(1);

    private const long DefaultFrameBytes = 16 * 1024 * 1024;
    private const string FrameSizePath = "akka.remote.dot-netty.tcp.maximum-frame-size";

    public const string ConfigPath = "dmuc.replication";

    public static readonly ReplicationSettings Default = new(
        KeepaliveInterval: TimeSpan.FromSeconds(15), PingTimeout: TimeSpan.FromSeconds(10), SplitPingInterval: TimeSpan.FromSeconds(2));

    public static ReplicationSettings From(Config config)
    {
        var frameBytes = config.HasPath(FrameSizePath) ? config.GetByteSize(FrameSizePath) ?? DefaultFrameBytes : DefaultFrameBytes;
        var section = config.GetConfig(ConfigPath);
        if (section is null || section.IsEmpty) return Default with { ResyncPartBytes = frameBytes * 3 / 4 };
        return new ReplicationSettings(
            section.GetTimeSpan("keepalive-interval", Default.KeepaliveInterval),
            section.GetTimeSpan("ping-timeout", Default.PingTimeout),
            section.GetTimeSpan("split-ping-interval", Default.SplitPingInterval),
            section.GetBoolean("show-split-users-away", Default.ShowSplitUsersAway))
        {
            Split = SplitServing.From(section),
            ResyncPartBytes = frameBytes * 3 / 4,
            ReceiptJournalInterval = section.GetTimeSpan("receipt-journal-interval", Default.ReceiptJournalInterval),
        };
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

/// <summary>
/// The XEP-0282 §4.11.1 MAYs a replica serves its local users with while split from the primary; anything not
/// served is answered with an error. What is served and held is reconciled at the netjoin (docs/protocol/netjoin.md).
/// </summary>
/// <param name="LocalChat">Groupchat messages among the local occupants, held for the netjoin.</param>
/// <param name="PrivateMessages">In-room private messages between local occupants (nothing to reconcile).</param>
/// <param name="Kicks">Kicks of a local occupant by a local moderator the primary designated, held.</param>
/// <param name="MarkOthersAway">Show every non-local occupant as away to the local users until the netjoin.</param>
/// <param name="Entries">Entries of local users (the XEP's "DANGER"), held; a nick taken meanwhile loses at the netjoin.</param>
public sealed record SplitServing(bool LocalChat, bool PrivateMessages, bool Kicks, bool MarkOthersAway, bool Entries)
{
    public static readonly SplitServing Default = new(LocalChat: true, PrivateMessages: true, Kicks: true, MarkOthersAway: false, Entries: false);

    /// <summary>Only what the XEP requires: leaves and presence changes.</summary>
    public static readonly SplitServing Nothing = new(false, false, false, false, false);

    public static SplitServing From(Config section) => new(
        section.GetBoolean("split-local-chat", Default.LocalChat),
        section.GetBoolean("split-private-messages", Default.PrivateMessages),
        section.GetBoolean("split-kicks", Default.Kicks),
        section.GetBoolean("split-mark-others-away", Default.MarkOthersAway),
        section.GetBoolean("split-entries", Default.Entries));
}
