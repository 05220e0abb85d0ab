using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Component;

/// <summary>
/// Carries the own-host relay between the primary-capable nodes of one host (rooms sharded over them, behind a server that
/// takes one component connection per domain): sends what this node's rooms deliver to the node that holds the host's
/// stream (<see cref="OwnHostRelayWindow"/>), and on that node hands what others relay to its stream and confirms it once
/// written (<see cref="OwnHostRelayIntake"/>). Looks again at which node serves the host before each relay too.
/// </summary>
public sealed class OwnHostRelayActor : HostServerWatcher
{
    public const string Name = "own-host-relay";
    private static readonly TimeSpan CheckAgainWithoutStream = TimeSpan.FromSeconds(1);

    private readonly ComponentOutbox _outbox;
    private readonly OwnHostSink _sink;
    private readonly OwnHostRelayWindow _window = new(Guid.NewGuid().ToString("N"));
    private readonly OwnHostRelayIntake _intake = new();
    private readonly Dictionary<string, IActorRef> _senders = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _dropped;

    public OwnHostRelayActor(ClusterHosts hosts, ComponentOutbox outbox, OwnHostSink sink) : base(hosts)
    {
        _outbox = outbox;
        _sink = sink;
        Receive<DeliveriesToRelay>(relay =>
        {
            LookAgain();
            Carry(_window.Relay(relay.Deliveries));
        });
        Receive<RelayedDeliveries>(HandleRelayFromNode);
        Receive<RelayedDeliveriesWritten>(written =>
        {
            _window.Written(written);
            _sink.Relaying = _window.Relaying;
        });
        Receive<WrittenChecked>(HandleWrittenChecked);
        Receive<CheckWritten>(check => CheckWrittenUpTo(check.Session, check.Number));
    }

    public static Props Props(ClusterHosts hosts, ComponentOutbox outbox, OwnHostSink sink) =>
        Akka.Actor.Props.Create(() => new OwnHostRelayActor(hosts, outbox, sink));

    protected override void LookAgain()
    {
        var (serving, reachable) = Hosts.OwnHostServer(Cluster);
        var before = _window.Target;
        var sends = _window.Look(serving, reachable, Cluster.SelfAddress);
        if (before != _window.Target)
        {
            if (_window.Target is { } target)
                _log.Info("{0} holds the component stream of {1}: this node's rooms reach its users through it", target, Hosts.OwnHost);
            else
                _log.Info("This node's own component stream reaches {0}'s users ({1} relays not confirmed by {2} go out through it)",
                    Hosts.OwnHost, sends.ToOutbox.Count, before);
        }
        Carry(sends);
    }

    private void Carry(OwnHostRelayWindow.Sends sends)
    {
        if (sends.ToOutbox.Count > 0) _outbox.Send(sends.ToOutbox);
        if (sends.Node is { } node && sends.ToNode.Count > 0)
        {
            var relay = Context.ActorSelection(new RootActorPath(node) / "user" / Name);
            foreach (var relayed in sends.ToNode) relay.Tell(relayed, Self);
        }
        if (sends.Dropped > 0)
        {
            _dropped += sends.Dropped;
            _log.Warning("{0} has not confirmed this node's relays to {1}'s users for too long: {2} relays dropped so far", sends.Node, Hosts.OwnHost, _dropped);
        }
        _sink.Relaying = _window.Relaying;
    }

    /// <summary>Only the primary-capable nodes of the cluster, proven by their certificates, relay through this node's stream.</summary>
    private void HandleRelayFromNode(RelayedDeliveries relay)
    {
        if (!Hosts.IsPrimaryNode(Sender.Path.Address))
        {
            _log.Warning("Refused deliveries relayed by {0}: it is not a primary-capable node of this cluster", Sender.Path.Address);
            return;
        }
        var intake = _intake.Take(relay, thisNodeServes: Hosts.OwnHostNode == Cluster.SelfAddress);
        _senders[relay.Session] = Sender;
        if (intake.Deliver) _outbox.Send(relay.Deliveries);
        if (intake.ConfirmAgain is { } confirm) Sender.Tell(confirm, Self);
        if (intake.CheckWrittenUpTo is { } number) CheckWrittenUpTo(relay.Session, number);
    }

    private void CheckWrittenUpTo(string session, long number) =>
        _outbox.AllWritten().PipeTo(Self, success: written => new WrittenChecked(session, number, written),
            failure: _ => new WrittenChecked(session, number, false));

    private void HandleWrittenChecked(WrittenChecked check)
    {
        var (confirm, checkAgainUpTo) = _intake.Checked(check.Session, check.Number, check.Written);
        if (confirm is not null && _senders.TryGetValue(check.Session, out var sender)) sender.Tell(confirm, Self);
        if (checkAgainUpTo is not { } number) return;
        if (check.Written) CheckWrittenUpTo(check.Session, number);
        else Timers.StartSingleTimer("check-" + check.Session, new CheckWritten(check.Session, number), CheckAgainWithoutStream);
    }

    /// <summary>What this node's rooms deliver while another node serves the host (<see cref="OwnHostSink"/>).</summary>
    internal sealed record DeliveriesToRelay(IReadOnlyList<Delivery> Deliveries);

    private sealed record WrittenChecked(string Session, long Number, bool Written);

    private sealed record CheckWritten(string Session, long Number);
}

/// <summary>
/// The rooms' sink on a primary-capable node of a host that other nodes may serve (rooms sharded): this node's own stream
/// while it serves the host, else the own-host relay (<see cref="OwnHostRelayActor"/>) to the node that does. Thread-safe:
/// rooms call it from their own threads.
/// </summary>
public sealed class OwnHostSink(ComponentOutbox outbox, ClusterHosts hosts) : IStanzaSink
{
    private IActorRef? _relay;
    private Address? _self;
    private volatile bool _relaying;

    /// <summary>Relays are still held: until they are out, what the rooms deliver goes after them, through the relay.</summary>
    internal bool Relaying
    {
        set => _relaying = value;
    }

    internal void Attach(IActorRef relay, Address self)
    {
        _self = self;
        Volatile.Write(ref _relay, relay);
    }

    /// <summary>The node of this host whose stream the rooms' deliveries go through now, when it is another node.</summary>
    public Address? RelaysThrough => Volatile.Read(ref _relay) is not null && hosts.OwnHostNode is { } serving && serving != _self ? serving : null;

    public void Send(IReadOnlyList<Delivery> deliveries)
    {
        if (Volatile.Read(ref _relay) is { } relay && Relayed)
        {
            if (deliveries.Count > 0) relay.Tell(new OwnHostRelayActor.DeliveriesToRelay(deliveries));
            return;
        }
        outbox.Send(deliveries);
    }

    /// <summary>
    /// Only the node holding the host's stream can tell whether its server keeps up, and it refuses as it reads
    /// (<see cref="ComponentConnectionActor"/>). Refused here, while the rooms relay, the answer would wait in this node's
    /// streamless outbox while the stanza's receipt settles at the holder: the server forgets it, its sender hears nothing.
    /// </summary>
    public bool ServerBehind(long decidedNotSentBytes = 0) => !Relayed && outbox.ServerBehind(decidedNotSentBytes);

    public long BytesToSend(IReadOnlyList<Delivery> deliveries) => outbox.BytesToSend(deliveries);

    public Task<bool> AllWritten() => outbox.AllWritten();

    /// <summary>Only this node's own stream's server can say; what went through another node's stream, it cannot.</summary>
    public Task<LastDelivered?> LastDelivered(Jid room, TimeSpan timeout) =>
        Volatile.Read(ref _relay) is not null && Relayed ? Task.FromResult<LastDelivered?>(null) : outbox.LastDelivered(room, timeout);

    private bool Relayed => _relaying || RelaysThrough is not null;
}

public static class OwnHostRelayHosting
{
    /// <summary>Starts the own-host relay and attaches <see cref="OwnHostSink"/> to it; before <c>AddRoomDirectory</c>.</summary>
    public static AkkaConfigurationBuilder AddOwnHostRelay(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry, resolver) =>
        {
            var sink = resolver.GetService<OwnHostSink>();
            var relay = system.ActorOf(OwnHostRelayActor.Props(resolver.GetService<ClusterHosts>(), resolver.GetService<ComponentOutbox>(), sink),
                OwnHostRelayActor.Name);
            sink.Attach(relay, Cluster.Get(system).SelfAddress);
            registry.Register<OwnHostRelayActor>(relay);
        });
}
