using System.Runtime.Serialization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Akka.Actor;
using Akka.Serialization;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// What primary-capable nodes send each other about rooms when rooms are sharded (<see cref="RoomPlacement.Sharded"/>): a
/// stanza a directory hands to the node holding its room, a room's listing for the other directories and the index, the
/// index's answer, whether a creation the directory reserved happened, the operator's questions and commands to a room on
/// another node and their answers, and the own-host relay (what a node's rooms deliver through the host stream another node
/// holds). Each is one XML element in the <c>urn:dmuc:rooms</c> namespace (<c>&lt;creation-settled room created/&gt;</c>,
/// <c>&lt;inspect room/&gt;</c>, <c>&lt;inspection …/&gt;</c>, <c>&lt;kick room nick reason/&gt;</c>, <c>&lt;kicked room nick
/// outcome/&gt;</c>, <c>&lt;destroy room reason/&gt;</c>, <c>&lt;destroyed room destroyed/&gt;</c>, <c>&lt;relay session
/// number&gt;&lt;stanza&gt;STANZA&lt;/stanza&gt;…&lt;to jid stanza/&gt;…&lt;/relay&gt;</c> (each stanza once, however many it
/// reaches) and <c>&lt;relay-written session number/&gt;</c> besides these):
/// <c>&lt;route reserved='true'&gt;&lt;denied type text/&gt;&lt;relayed host session number acknowledged resent/&gt;&lt;receipt to connection number resent/&gt;STANZA&lt;/route&gt;</c>,
/// <c>&lt;listing room name occupants public exists persistent/&gt;</c>, <c>&lt;list-index/&gt;</c>, <c>&lt;index-unavailable/&gt;</c> and
/// <c>&lt;index tracks-occupancy='true'&gt;&lt;room jid name public/&gt;…&lt;occupied jid/&gt;…&lt;/index&gt;</c>.
/// </summary>
public sealed class ShardedRoomSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private static readonly XNamespace Ns = "urn:dmuc:rooms";
    private static readonly XmlReaderSettings ReaderSettings = new() { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };

    public override int Identifier => 4286;

    /// <summary>Every message this serializer carries (bound to it in <see cref="RoomShards.Hocon"/>).</summary>
    public static readonly IReadOnlyList<Type> Messages =
    [
        typeof(RouteStanza), typeof(RoomListingChanged), typeof(ListIndexedRooms), typeof(RoomIndexRecovered), typeof(RoomIndexUnavailable),
        typeof(RoomCreationSettled),
        typeof(InspectRoom), typeof(RoomInspection), typeof(KickOccupantAsAdmin), typeof(AdminKickDone), typeof(DestroyRoomAsAdmin),
        typeof(AdminDestroyDone), typeof(RelayedDeliveries), typeof(RelayedDeliveriesWritten),
    ];

    public override string Manifest(object o) => o switch
    {
        RouteStanza => "route",
        RoomListingChanged => "listing",
        ListIndexedRooms => "list-index",
        RoomIndexRecovered => "index",
        RoomIndexUnavailable => "index-unavailable",
        RoomCreationSettled => "creation-settled",
        InspectRoom => "inspect",
        RoomInspection => "inspection",
        KickOccupantAsAdmin => "kick",
        AdminKickDone => "kicked",
        DestroyRoomAsAdmin => "destroy",
        AdminDestroyDone => "destroyed",
        RelayedDeliveries => "relay",
        RelayedDeliveriesWritten => "relay-written",
        _ => throw new ArgumentException($"{o.GetType()} is not a message between primary-capable nodes", nameof(o)),
    };

    public override byte[] ToBinary(object obj) =>
        Encoding.UTF8.GetBytes(ToXml(obj).ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces));

    public override object FromBinary(byte[] bytes, string manifest)
    {
        try
        {
            using var reader = XmlReader.Create(new MemoryStream(bytes), ReaderSettings);
            var element = XElement.Load(reader);
            return manifest switch
            {
                "route" => RouteFromXml(element),
                "listing" => ListingFromXml(element),
                "list-index" => ListIndexedRooms.Instance,
                "index" => IndexFromXml(element),
                "index-unavailable" => RoomIndexUnavailable.Instance,
                "creation-settled" => new RoomCreationSettled(Jid.Parse((string)element.Attribute("room")!), (bool)element.Attribute("created")!),
                "inspect" => new InspectRoom(RoomOf(element)),
                "inspection" => InspectionFromXml(element),
                "kick" => new KickOccupantAsAdmin(RoomOf(element), (string)element.Attribute("nick")!, (string?)element.Attribute("reason")),
                "kicked" => new AdminKickDone(RoomOf(element), (string)element.Attribute("nick")!, Enum.Parse<AdminKickOutcome>((string)element.Attribute("outcome")!)),
                "destroy" => new DestroyRoomAsAdmin(RoomOf(element), (string?)element.Attribute("reason")),
                "destroyed" => new AdminDestroyDone(RoomOf(element), (bool)element.Attribute("destroyed")!),
                "relay" => RelayFromXml(element),
                "relay-written" => new RelayedDeliveriesWritten((string)element.Attribute("session")!, (long)element.Attribute("number")!),
                _ => throw new SerializationException($"unknown message '{manifest}' between primary-capable nodes"),
            };
        }
        catch (Exception error) when (error is XmlException or FormatException or InvalidOperationException or ArgumentException or UriFormatException)
        {
            throw new SerializationException($"malformed '{manifest}' between primary-capable nodes: {error.Message}", error);
        }
    }

    private XElement ToXml(object obj) => obj switch
    {
        RouteStanza route => new XElement(Ns + "route",
            route.CreationReserved ? new XAttribute("reserved", "true") : null,
            route.CreationDenied is { } denied ? new XElement(Ns + "denied", new XAttribute("type", denied.Type), new XAttribute("text", denied.Text)) : null,
            route.Relayed is { } relayed
                ? new XElement(Ns + "relayed", new XAttribute("host", relayed.Host), new XAttribute("session", relayed.Number.Session),
                    new XAttribute("number", relayed.Number.Number), new XAttribute("acknowledged", relayed.Number.Acknowledged),
                    relayed.Resent ? new XAttribute("resent", "true") : null)
                : null,
            route.Receipt is { } receipt
                ? new XElement(Ns + "receipt", new XAttribute("to", Serialization.SerializedActorPath(receipt.Acknowledger)),
                    new XAttribute("connection", receipt.Connection), new XAttribute("number", receipt.Number),
                    receipt.Resent ? new XAttribute("resent", "true") : null)
                : null,
            route.Stanza),
        RoomListingChanged listing => new XElement(Ns + "listing", new XAttribute("room", listing.Room), new XAttribute("name", listing.Name),
            new XAttribute("occupants", listing.Occupants), new XAttribute("public", listing.IsPublic), new XAttribute("exists", listing.Exists),
            new XAttribute("persistent", listing.IsPersistent)),
        ListIndexedRooms => new XElement(Ns + "list-index"),
        RoomIndexUnavailable => new XElement(Ns + "index-unavailable"),
        RoomCreationSettled settled => new XElement(Ns + "creation-settled", new XAttribute("room", settled.Room), new XAttribute("created", settled.Created)),
        RoomIndexRecovered index => new XElement(Ns + "index",
            index.OccupiedRooms is null ? null : new XAttribute("tracks-occupancy", "true"),
            index.Rooms.Select(room => new XElement(Ns + "room", new XAttribute("jid", room.Room), new XAttribute("name", room.Name),
                new XAttribute("public", room.IsPublic))),
            index.OccupiedRooms?.Select(occupied => new XElement(Ns + "occupied", new XAttribute("jid", occupied)))),
        InspectRoom inspect => new XElement(Ns + "inspect", new XAttribute("room", inspect.Room)),
        RoomInspection inspection => InspectionToXml(inspection),
        KickOccupantAsAdmin kick => new XElement(Ns + "kick", new XAttribute("room", kick.Room), new XAttribute("nick", kick.Nick),
            kick.Reason is null ? null : new XAttribute("reason", kick.Reason)),
        AdminKickDone kicked => new XElement(Ns + "kicked", new XAttribute("room", kicked.Room), new XAttribute("nick", kicked.Nick),
            new XAttribute("outcome", kicked.Outcome)),
        DestroyRoomAsAdmin destroy => new XElement(Ns + "destroy", new XAttribute("room", destroy.Room),
            destroy.Reason is null ? null : new XAttribute("reason", destroy.Reason)),
        AdminDestroyDone destroyed => new XElement(Ns + "destroyed", new XAttribute("room", destroyed.Room), new XAttribute("destroyed", destroyed.Destroyed)),
        RelayedDeliveries relay => RelayToXml(relay),
        RelayedDeliveriesWritten written => new XElement(Ns + "relay-written", new XAttribute("session", written.Session), new XAttribute("number", written.Number)),
        _ => throw new ArgumentException($"{obj.GetType()} is not a message between primary-capable nodes", nameof(obj)),
    };

    private static Jid RoomOf(XElement element) => Jid.Parse((string)element.Attribute("room")!);

    private static XElement InspectionToXml(RoomInspection inspection) => new(Ns + "inspection",
        new XAttribute("room", inspection.Room), new XAttribute("exists", inspection.Exists), new XAttribute("name", inspection.Name),
        new XAttribute("journal", inspection.JournalSequenceNr), new XAttribute("node", inspection.Node),
        inspection.Sessions.Select(session => new XElement(Ns + "session", new XAttribute("nick", session.Nick), new XAttribute("jid", session.RealJid),
            new XAttribute("role", session.Role), new XAttribute("affiliation", session.Affiliation))),
        inspection.History.Select(entry => new XElement(Ns + "history", new XAttribute("sender", entry.SenderBareJid), new XAttribute("nick", entry.Nick),
            new XAttribute("at", entry.Timestamp), new XAttribute("id", entry.StanzaId), entry.Stanza)),
        inspection.Links.Select(link => new XElement(Ns + "link", new XAttribute("host", link.Host), new XAttribute("sent", link.BatchesSent),
            link.Node is null ? null : new XAttribute("node", link.Node), new XAttribute("state", link.State),
            link.SplitSince is { } since ? new XAttribute("split-since", since) : null,
            link.LastRtt is { } last ? new XAttribute("last-rtt", last) : null,
            link.AverageRtt is { } average ? new XAttribute("average-rtt", average) : null,
            new XAttribute("withheld", link.BatchesWithheld))),
        inspection.Receipts is not { } receipts ? null : new XElement(Ns + "receipts", receipts.Select(receipt => new XElement(Ns + "receipt",
            new XAttribute("room", receipt.Room), new XAttribute("host", receipt.ReplicaHost),
            receipt.LastStanzaId is null ? null : new XAttribute("last", receipt.LastStanzaId),
            receipt.Sessions.Select(session => new XElement(Ns + "session", new XAttribute("jid", session)))))));

    private static RoomInspection InspectionFromXml(XElement inspection) => new(RoomOf(inspection), (bool)inspection.Attribute("exists")!,
        (string)inspection.Attribute("name")!,
        inspection.Elements(Ns + "session").Select(session => new OccupantSessionView((string)session.Attribute("nick")!,
            Jid.Parse((string)session.Attribute("jid")!), Enum.Parse<Role>((string)session.Attribute("role")!),
            Enum.Parse<Affiliation>((string)session.Attribute("affiliation")!))).ToList(),
        inspection.Elements(Ns + "history").Select(entry => new HistoryEntry(entry.Value, Jid.Parse((string)entry.Attribute("sender")!),
            (string)entry.Attribute("nick")!, (DateTimeOffset)entry.Attribute("at")!, (string)entry.Attribute("id")!)).ToList(),
        (long)inspection.Attribute("journal")!,
        inspection.Elements(Ns + "link").Select(link => new ReplicaLink.LinkInspection((string)link.Attribute("host")!, (long)link.Attribute("sent")!,
            (string?)link.Attribute("node"), Enum.Parse<LinkState>((string)link.Attribute("state")!), (DateTimeOffset?)link.Attribute("split-since"),
            (TimeSpan?)link.Attribute("last-rtt"), (TimeSpan?)link.Attribute("average-rtt"), (long)link.Attribute("withheld")!)).ToList(),
        Address.Parse((string)inspection.Attribute("node")!),
        inspection.Element(Ns + "receipts")?.Elements(Ns + "receipt").Select(receipt => new DeliveryReceipt(RoomOf(receipt),
            (string)receipt.Attribute("host")!, (string?)receipt.Attribute("last"),
            receipt.Elements(Ns + "session").Select(session => Jid.Parse((string)session.Attribute("jid")!)).ToList())).ToList());

    /// <summary>Each distinct stanza once, so that the outbox renders it once however many it reaches, as on the node that decided it.</summary>
    private static XElement RelayToXml(RelayedDeliveries relay)
    {
        var indexOf = new Dictionary<XElement, int>(ReferenceEqualityComparer.Instance);
        var stanzas = new List<XElement>();
        var recipients = new List<XElement>(relay.Deliveries.Count);
        foreach (var delivery in relay.Deliveries)
        {
            if (!indexOf.TryGetValue(delivery.Stanza, out var index))
            {
                indexOf[delivery.Stanza] = index = stanzas.Count;
                stanzas.Add(new XElement(Ns + "stanza", delivery.Stanza));
            }
            recipients.Add(new XElement(Ns + "to", new XAttribute("jid", delivery.To), new XAttribute("stanza", index)));
        }
        return new XElement(Ns + "relay", new XAttribute("session", relay.Session), new XAttribute("number", relay.Number), stanzas, recipients);
    }

    private static RelayedDeliveries RelayFromXml(XElement relay)
    {
        var stanzas = relay.Elements(Ns + "stanza").Select(stanza => new XElement(stanza.Elements().Single())).ToList();
        return new RelayedDeliveries((string)relay.Attribute("session")!, (long)relay.Attribute("number")!,
            relay.Elements(Ns + "to").Select(to => new Delivery(Jid.Parse((string)to.Attribute("jid")!), stanzas[(int)to.Attribute("stanza")!])).ToList());
    }

    private RouteStanza RouteFromXml(XElement route)
    {
        var denied = route.Element(Ns + "denied");
        var relayed = route.Element(Ns + "relayed");
        var receipt = route.Element(Ns + "receipt");
        var stanza = route.Elements().Single(child => child.Name.Namespace != Ns);
        return new RouteStanza(new XElement(stanza),
            denied is null ? null : new RoomCreationDenied((string)denied.Attribute("type")!, (string)denied.Attribute("text")!),
            (string?)route.Attribute("reserved") == "true",
            relayed is null ? null : new RelayedBy((string)relayed.Attribute("host")!, new ForwardNumber((string)relayed.Attribute("session")!,
                (long)relayed.Attribute("number")!, (long)relayed.Attribute("acknowledged")!), (string?)relayed.Attribute("resent") == "true"),
            receipt is null ? null : new StreamReceipt(base.system.Provider.ResolveActorRef((string)receipt.Attribute("to")!),
                (long)receipt.Attribute("connection")!, (long)receipt.Attribute("number")!, (string?)receipt.Attribute("resent") == "true"));
    }

    private static RoomListingChanged ListingFromXml(XElement listing) => new(Jid.Parse((string)listing.Attribute("room")!),
        (string)listing.Attribute("name")!, (int)listing.Attribute("occupants")!, (bool)listing.Attribute("public")!,
        (bool)listing.Attribute("exists")!, (bool)listing.Attribute("persistent")!);

    private static RoomIndexRecovered IndexFromXml(XElement index) => new(
        index.Elements(Ns + "room").Select(room => new IndexedRoom((string)room.Attribute("jid")!, (string)room.Attribute("name")!,
            (bool)room.Attribute("public")!)).ToList(),
        (string?)index.Attribute("tracks-occupancy") == "true" ? index.Elements(Ns + "occupied").Select(room => (string)room.Attribute("jid")!).ToList() : null);
}
