using Akka.Actor;
using Dmuc.Rooms;

namespace Dmuc.Actors.Component;

/// <summary>
/// The sending side of the own-host relay (docs/architecture.md, "A host's users and the node without its stream"): what
/// this node's rooms deliver through their host's component stream while another node of the same host holds that stream
/// (Prosody takes one component connection per domain). Each relay is numbered in this node's session and held until the
/// node that took it says its stream wrote it, so that a relay lost with that node (killed before it wrote it) or with the
/// link to it is sent again: to the node that serves the host next, or to this node's own stream once it serves. Pure: the
/// actor (<see cref="OwnHostRelayActor"/>) tells it which node serves the host, as the cluster names it, and sends what it
/// says. A relay written but not yet confirmed when its node died is sent again, so a user may get it twice (at least once).
/// </summary>
/// <param name="session">Tells this incarnation's numbers from a previous one's, for the node that dedupes them.</param>
/// <param name="maxHeldDeliveries">Beyond this many held deliveries the oldest relays are dropped, counted and logged: the
/// same bound as the component stream's own queue while it is down.</param>
public sealed class OwnHostRelayWindow(string session, int maxHeldDeliveries = ComponentOutbox.MaxQueuedWhileDisconnected)
{
    private readonly Queue<RelayedDeliveries> _held = new();
    private int _heldDeliveries;
    private long _lastNumber;
    private Address? _target;
    private bool _targetReachable = true;

    /// <param name="ToOutbox">Hand these to this node's own component stream, in order, before anything relayed later.</param>
    /// <param name="Node">Where <paramref name="ToNode"/> goes.</param>
    /// <param name="ToNode">Relays for the node that serves the host, in order.</param>
    /// <param name="Dropped">Relays given up because too much was held.</param>
    public sealed record Sends(IReadOnlyList<Delivery> ToOutbox, Address? Node, IReadOnlyList<RelayedDeliveries> ToNode, int Dropped = 0)
    {
        public static readonly Sends Nothing = new([], null, []);
    }

    public string Session => session;

    /// <summary>The node relays go to; null while this node's own stream is the way out.</summary>
    public Address? Target => _target;

    /// <summary>Whether what the rooms deliver must pass through the relay: another node serves the host, or relays are still held.</summary>
    public bool Relaying => _target is not null || _held.Count > 0;

    /// <summary>Relays not yet confirmed written.</summary>
    public int Held => _held.Count;

    /// <summary>
    /// The cluster names <paramref name="serving"/> for this node's host (null: nobody yet, and this node's own stream is the
    /// only way out). A change of node sends everything held to the new one (or to this node's stream, if it is this node);
    /// the same node reachable again after it was not gets everything held again, as the link may have lost it.
    /// </summary>
    public Sends Look(Address? serving, bool servingReachable, Address self)
    {
        var target = serving is null || serving == self ? null : serving;
        var reachableAgain = target is not null && target == _target && servingReachable && !_targetReachable;
        _targetReachable = servingReachable;
        if (target == _target && !reachableAgain) return Sends.Nothing;
        _target = target;
        if (target is not null) return new Sends([], target, _held.ToList());
        var waiting = _held.SelectMany(relay => relay.Deliveries).ToList();
        _held.Clear();
        _heldDeliveries = 0;
        return new Sends(waiting, null, []);
    }

    /// <summary>What the rooms deliver now: to the node that serves the host, numbered and held, or to this node's own stream.</summary>
    public Sends Relay(IReadOnlyList<Delivery> deliveries)
    {
        if (_target is null) return new Sends(deliveries, null, []);
        var relay = new RelayedDeliveries(session, ++_lastNumber, deliveries);
        _held.Enqueue(relay);
        _heldDeliveries += deliveries.Count;
        var dropped = 0;
        while (_heldDeliveries > maxHeldDeliveries && _held.Count > 1)
        {
            _heldDeliveries -= _held.Dequeue().Deliveries.Count;
            dropped++;
        }
        return new Sends([], _target, [relay], dropped);
    }

    /// <summary>The node that took the relays up to <paramref name="written"/>'s number says its stream wrote them.</summary>
    public void Written(RelayedDeliveriesWritten written)
    {
        if (written.Session != session) return;
        while (_held.TryPeek(out var oldest) && oldest.Number <= written.Number)
            _heldDeliveries -= _held.Dequeue().Deliveries.Count;
    }
}

/// <summary>What a node's rooms deliver through their host's stream, relayed to the node of that host holding it.</summary>
/// <param name="Session">The sending node's relay session (one per incarnation).</param>
/// <param name="Number">Numbered from 1 in the session.</param>
public sealed record RelayedDeliveries(string Session, long Number, IReadOnlyList<Delivery> Deliveries);

/// <summary>The stream of the node that took the relays of <paramref name="Session"/> wrote them up to <paramref name="Number"/>.</summary>
public sealed record RelayedDeliveriesWritten(string Session, long Number);
