using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using Dmuc.Actors.Component;

namespace Dmuc.Actors.Replication;

/// <summary>
/// Carries out <see cref="HostStandby"/>'s steps: tells the component stream to serve or stand by, and downs the node it
/// takes the host over from.
/// </summary>
public sealed class HostStandbyActor : HostServerWatcher
{
    public const string Name = "host-standby";

    private readonly ComponentOutbox _outbox;
    private readonly IActorRef _component;
    private readonly HostStandby _standby;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private HostStandby.Step? _last;

    public HostStandbyActor(ClusterHosts hosts, ComponentOutbox outbox, IActorRef component, StandbySettings settings) : base(hosts)
    {
        _outbox = outbox;
        _component = component;
        _standby = new HostStandby(Cluster.SelfAddress, settings.TakeOverAfter, settings.StartsStandingBy);
    }

    public static Props Props(ClusterHosts hosts, ComponentOutbox outbox, IActorRef component, StandbySettings settings) =>
        Akka.Actor.Props.Create(() => new HostStandbyActor(hosts, outbox, component, settings));

    protected override void LookAgain()
    {
        var (serving, reachable) = Hosts.OwnHostServer(Cluster);
        var step = _standby.Decide(serving, reachable, _outbox.IsConnected, DateTimeOffset.UtcNow);
        var changed = step != _last;
        _last = step;
        switch (step)
        {
            case HostStandby.Serve:
                _component.Tell(ComponentConnectionActor.Serve.Instance);
                if (changed) _log.Info("This node serves {0}", Hosts.OwnHost);
                break;
            case HostStandby.StandBy standBy:
                _component.Tell(ComponentConnectionActor.StandBy.Instance);
                if (changed) _log.Info("Standing by for {0}: {1}", Hosts.OwnHost, standBy.Reason);
                break;
            case HostStandby.Contend contend:
                _component.Tell(ComponentConnectionActor.Serve.Instance);
                if (changed) _log.Warning("{0}, which serves {1}, is unreachable: connecting to the XMPP server to take over", contend.Serving, Hosts.OwnHost);
                break;
            case HostStandby.TakeOver takeOver:
                if (!changed) break;
                _log.Warning("Taking {0} over: this node's component stream is in and {1} is unreachable, so {1} is downed", Hosts.OwnHost, takeOver.Serving);
                Cluster.Down(takeOver.Serving);
                break;
        }
    }
}

/// <summary>How a node that serves an XMPP host behaves beside others that may serve it (<see cref="HostStandby"/>).</summary>
/// <param name="StartsStandingBy">A standby: its stream stays off until the cluster names it for its host.</param>
/// <param name="TakeOverAfter">How long the serving node must have been unreachable before this one contends for the host.</param>
public sealed record StandbySettings(bool StartsStandingBy, TimeSpan TakeOverAfter)
{
    public static readonly TimeSpan DefaultTakeOverAfter = TimeSpan.FromSeconds(3);
}

public static class HostStandbyHosting
{
    /// <summary>Lets the cluster decide whether this node's component stream serves its host; after <c>AddComponentConnection</c>.</summary>
    public static AkkaConfigurationBuilder AddHostStandby(this AkkaConfigurationBuilder builder, StandbySettings settings) =>
        builder.WithActors((system, registry, resolver) =>
            registry.Register<HostStandbyActor>(system.ActorOf(HostStandbyActor.Props(resolver.GetService<ClusterHosts>(),
                resolver.GetService<ComponentOutbox>(), registry.Get<ComponentConnectionActor>(), settings), HostStandbyActor.Name)));
}
