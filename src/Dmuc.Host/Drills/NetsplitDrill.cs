using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote;
using Akka.Remote.Transport;

namespace Dmuc.Host.Drills;

/// <summary>
/// Cuts and heals this node's links for netsplit drills, with Akka.Remote's throttler (<c>applied-adapters = [trttl]</c>).
/// A cut between two nodes is each of them dropping its OWN sends to the other (direction Send, never Receive): every
/// node keeps hearing every node, so a heal from any node reaches both ends, even from the other end of the cut.
/// One node per cluster coordinates a drill (the one whose management endpoint was called); see NetsplitRoutes.
/// </summary>
public sealed class NetsplitDrill : ReceiveActor, IWithTimers
{
    public const string Name = "netsplit-drill";

    /// <summary>
    /// How long a node waits between answering a cut and dropping its sends. The one asking may be the peer itself,
    /// and the answer must leave before the link goes dark; the throttler gives no way to order the two.
    /// </summary>
    public static readonly TimeSpan AnswerGrace = TimeSpan.FromMilliseconds(500);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Address _self = Cluster.Get(Context.System).SelfAddress;
    private NetsplitDrillState _state = NetsplitDrillState.Intact;

    public NetsplitDrill()
    {
        Receive<CutLinkTo>(HandleCutLinkTo);
        ReceiveAsync<GoDark>(HandleGoDarkAsync);
        ReceiveAsync<HealLinks>(_ => HandleHealLinksAsync());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props() => Akka.Actor.Props.Create(() => new NetsplitDrill());

    /// <summary>Stop sending to <paramref name="Peer"/> (an Akka address) until healed. Answered with <see cref="LinkCutScheduled"/>.</summary>
    public sealed record CutLinkTo(string Peer);

    /// <param name="Node">The node answering, which drops its sends to <paramref name="Peer"/> after <see cref="AnswerGrace"/>.</param>
    public sealed record LinkCutScheduled(string Node, string Peer);

    /// <summary>End every cut of this node. Answered with <see cref="LinksHealed"/>, after the sends flow again.</summary>
    public sealed record HealLinks
    {
        public static readonly HealLinks Instance = new();
    }

    /// <param name="Peers">The nodes this node had been cut from; empty when it had none.</param>
    public sealed record LinksHealed(string Node, IReadOnlyList<string> Peers);

    private sealed record GoDark(Address Peer);

    private void HandleCutLinkTo(CutLinkTo cut)
    {
        var peer = Address.Parse(cut.Peer);
        _state = _state.Cut(peer);
        Sender.Tell(new LinkCutScheduled(_self.ToString(), peer.ToString()));
        Timers.StartSingleTimer(peer, new GoDark(peer), AnswerGrace);
    }

    private async Task HandleGoDarkAsync(GoDark dark)
    {
        // A heal that came within the grace cancelled this timer, but a tick already in the mailbox still arrives.
        if (!_state.CutFrom.Contains(dark.Peer)) return;
        await ThrottleAsync(dark.Peer, ThrottleTransportAdapter.Direction.Send, Blackhole.Instance);
        _log.Warning("Netsplit drill: this node now drops everything it sends to {0}", dark.Peer);
    }

    private async Task HandleHealLinksAsync()
    {
        var peers = _state.CutFrom;
        _state = _state.Healed();
        foreach (var peer in peers)
        {
            Timers.Cancel(peer);
            // Both ways, though only sends were cut: the throttler keeps the last mode set for an address and gives an
            // inbound association from it its inbound mode only when that entry has one, so after a send-only heal every
            // later incarnation of the peer waited forever to be let in (the wedge of docs/operations.md).
            await ThrottleAsync(peer, ThrottleTransportAdapter.Direction.Both, Unthrottled.Instance);
        }
        if (!peers.IsEmpty) _log.Warning("Netsplit drill: healed the links to {0}", string.Join(", ", peers));
        Sender.Tell(new LinksHealed(_self.ToString(), peers.Select(peer => peer.ToString()).Order(StringComparer.Ordinal).ToList()));
    }

    private async Task ThrottleAsync(Address peer, ThrottleTransportAdapter.Direction direction, ThrottleMode mode)
    {
        var transport = ((IRemoteActorRefProvider)((ExtendedActorSystem)Context.System).Provider).Transport;
        if (!await transport.ManagementCommand(new SetThrottle(peer, direction, mode)))
            throw new InvalidOperationException($"the remoting throttler refused {mode} toward {peer}: is applied-adapters = [trttl] set?");
    }
}

public static class NetsplitDrillHosting
{
    /// <summary>Only with drills on: the adapter changes the node's address scheme to <c>akka.trttl.tcp</c>.</summary>
    public const string ThrottlerHocon = "akka.remote.dot-netty.tcp.applied-adapters = [trttl]";

    public static AkkaConfigurationBuilder AddNetsplitDrills(this AkkaConfigurationBuilder builder, DrillOptions drills)
    {
        if (!drills.Netsplit) return builder;
        builder.AddHocon(ThrottlerHocon, HoconAddMode.Prepend);
        return builder.WithActors((system, registry) =>
            registry.Register<NetsplitDrill>(system.ActorOf(NetsplitDrill.Props(), NetsplitDrill.Name)));
    }
}
