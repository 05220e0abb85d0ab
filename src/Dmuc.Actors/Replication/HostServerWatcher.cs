using Akka.Actor;
using Akka.Cluster;

namespace Dmuc.Actors.Replication;

/// <summary>
/// An actor that acts on which node serves this node's XMPP host (<see cref="ClusterHosts.OwnHostServer"/>): it looks again at
/// every change of membership or reachability, and on a short tick, since <see cref="ClusterHosts"/> follows the same events
/// through another actor and may change a moment later.
/// </summary>
public abstract class HostServerWatcher : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan LookAgainEvery = TimeSpan.FromMilliseconds(500);

    protected HostServerWatcher(ClusterHosts hosts)
    {
        Hosts = hosts;
        Receive<ClusterEvent.IClusterDomainEvent>(_ => LookAgain());
        Receive<ClusterEvent.CurrentClusterState>(_ => LookAgain());
        Receive<LookAgainTick>(_ => LookAgain());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected ClusterHosts Hosts { get; }

    protected Cluster Cluster { get; } = Cluster.Get(Context.System);

    /// <summary>Acts on <see cref="ClusterHosts.OwnHostServer"/> as it is now.</summary>
    protected abstract void LookAgain();

    protected override void PreStart()
    {
        Cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Timers.StartPeriodicTimer(nameof(LookAgainTick), LookAgainTick.Instance, LookAgainEvery);
    }

    protected override void PostStop() => Cluster.Unsubscribe(Self);

    private sealed class LookAgainTick
    {
        public static readonly LookAgainTick Instance = new();
    }
}
