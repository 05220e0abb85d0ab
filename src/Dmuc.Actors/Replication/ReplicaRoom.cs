using System.Xml.Linq;
using Akka;
using Akka.Actor;
using Akka.Event;
using Dmuc.Actors.Component;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The replica of one room on a node that is not the room's primary: relays local users' stanzas to the
/// primary unchanged (XEP-0282 §4.8) and fans the primary's batches out to local occupants (§4.9).
/// </summary>
public sealed class ReplicaRoom : ReceiveActor
{
    private readonly ReplicaRoomState _state;
    private readonly ClusterHosts _hosts;
    private readonly IStanzaSink _sink;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ReplicaRoom(Jid room, ClusterHosts hosts, IStanzaSink sink)
    {
        _hosts = hosts;
        _sink = sink;
        _state = new ReplicaRoomState(room, hosts.OwnHost ?? throw new InvalidOperationException("a replica needs its host domain"));

        Receive<RouteStanza>(route => HandleStanzaFromLocalUser(route.Stanza));
        Receive<ReplicaBatch>(HandleBatchFromPrimary);
        Receive<ShutDownRooms>(_ => HandleShutdown());
        Receive<InspectReplica>(_ => Sender.Tell(new ReplicaInspection(_state.Room, _state.LastSequence,
            _state.LocalOccupants.ToDictionary(), _state.Roster.Count, _state.History.Count())));
    }

    public static Props Props(Jid room, ClusterHosts hosts, IStanzaSink sink) =>
        Akka.Actor.Props.Create(() => new ReplicaRoom(room, hosts, sink));

    private void HandleStanzaFromLocalUser(XElement stanza)
    {
        _state.RecordLocalStanza(stanza);
        ForwardToPrimary(Context, stanza, _hosts, _sink, Self);
    }

    /// <summary>Relays a local user's stanza to the primary, or tells the user the room cannot be reached.</summary>
    internal static void ForwardToPrimary(IActorRefFactory factory, XElement stanza, ClusterHosts hosts, IStanzaSink sink, IActorRef sender)
    {
        if (hosts.PrimaryNode is { } primary)
        {
            RoomDirectory.At(factory, primary).Tell(new ForwardedStanza(stanza, hosts.OwnHost!), sender);
            return;
        }
        var type = stanza.Attribute("type")?.Value;
        if (type is "error" or "result" || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return;
        var error = StanzaError.Reply(stanza, StanzaErrorCondition.RecipientUnavailable, "the room's primary node cannot be reached");
        error.Attribute("to")?.Remove();
        sink.Send([new Delivery(from, error)]);
    }

    private void HandleBatchFromPrimary(ReplicaBatch batch)
    {
        if (batch.Sequence != _state.LastSequence + 1 && _state.LastSequence != 0)
            _log.Warning("Replica of {0}: batch {1} after {2}", batch.Room, batch.Sequence, _state.LastSequence);
        var (deliveries, refused) = _state.ApplyBatch(batch);
        _sink.Send(deliveries);
        foreach (var occupant in refused)
        {
            _log.Warning("Replica of {0}: refused {1}, who never sent it directed presence", batch.Room, occupant);
            Sender.Tell(new EnterRefused(batch.Room, occupant, _hosts.OwnHost!));
        }
    }

    /// <summary>
    /// This node is stopping: local occupants are told (332) and the primary hears that they left, so the
    /// rest of the room does not keep ghosts of them.
    /// </summary>
    private void HandleShutdown()
    {
        var deliveries = new List<Delivery>();
        foreach (var (occupant, nick) in _state.LocalOccupants)
        {
            var occupantJid = _state.Room.WithResource(nick).ToString();
            ForwardToPrimary(Context, new XElement(Ns.Client + "presence",
                new XAttribute("type", "unavailable"), new XAttribute("from", occupant.ToString()),
                new XAttribute("to", occupantJid)), _hosts, _sink, Self);
            deliveries.Add(new Delivery(occupant, new XElement(Ns.Client + "presence",
                new XAttribute("from", occupantJid), new XAttribute("type", "unavailable"),
                new XElement(Ns.MucUser + "x",
                    new XElement(Ns.MucUser + "item", new XAttribute("affiliation", "none"), new XAttribute("role", "none")),
                    new XElement(Ns.MucUser + "status", new XAttribute("code", "110")),
                    new XElement(Ns.MucUser + "status", new XAttribute("code", "332"))))));
        }
        _sink.Send(deliveries);
        Sender.Tell(Done.Instance);
    }

    public sealed class InspectReplica
    {
        public static readonly InspectReplica Instance = new();
    }

    public sealed record ReplicaInspection(Jid Room, long LastSequence, IReadOnlyDictionary<Jid, string> LocalOccupants,
        int RosterSize, int HistoryLength);
}
