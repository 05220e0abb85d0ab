using System.Runtime.Serialization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Akka.Actor;
using Akka.Serialization;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// What primary-capable nodes send each other about rooms when rooms are sharded (<see cref="RoomPlacement.Sharded"/>): a
/// stanza a directory hands to the node holding its room, a room's listing for the other directories and the index, the
/// index's answer, and whether a creation the directory reserved happened. Each is one XML element in the
/// <c>urn:dmuc:rooms</c> namespace (<c>&lt;creation-settled room created/&gt;</c> besides these):
/// <c>&lt;route reserved='true'&gt;&lt;denied type text/&gt;&lt;relayed host session number acknowledged/&gt;STANZA&lt;/route&gt;</c>,
/// <c>&lt;listing room name occupants public exists persistent/&gt;</c>, <c>&lt;list-index/&gt;</c>, <c>&lt;index-unavailable/&gt;</c> and
/// <c>&lt;index tracks-occupancy='true'&gt;&lt;room jid name public/&gt;…&lt;occupied jid/&gt;…&lt;/index&gt;</c>.
/// </summary>
public sealed class ShardedRoomSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private static readonly XNamespace Ns = "urn:dmuc:rooms";
    private static readonly XmlReaderSettings ReaderSettings = new() { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };

    public override int Identifier => 4286;

    public override string Manifest(object o) => o switch
    {
        RouteStanza => "route",
        RoomListingChanged => "listing",
        ListIndexedRooms => "list-index",
        RoomIndexRecovered => "index",
        RoomIndexUnavailable => "index-unavailable",
        RoomCreationSettled => "creation-settled",
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
                _ => throw new SerializationException($"unknown message '{manifest}' between primary-capable nodes"),
            };
        }
        catch (Exception error) when (error is XmlException or FormatException or InvalidOperationException or ArgumentNullException)
        {
            throw new SerializationException($"malformed '{manifest}' between primary-capable nodes: {error.Message}", error);
        }
    }

    private static XElement ToXml(object obj) => obj switch
    {
        RouteStanza route => new XElement(Ns + "route",
            route.CreationReserved ? new XAttribute("reserved", "true") : null,
            route.CreationDenied is { } denied ? new XElement(Ns + "denied", new XAttribute("type", denied.Type), new XAttribute("text", denied.Text)) : null,
            route.Relayed is { } relayed
                ? new XElement(Ns + "relayed", new XAttribute("host", relayed.Host), new XAttribute("session", relayed.Number.Session),
                    new XAttribute("number", relayed.Number.Number), new XAttribute("acknowledged", relayed.Number.Acknowledged))
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
        _ => throw new ArgumentException($"{obj.GetType()} is not a message between primary-capable nodes", nameof(obj)),
    };

    private static RouteStanza RouteFromXml(XElement route)
    {
        var denied = route.Element(Ns + "denied");
        var relayed = route.Element(Ns + "relayed");
        var stanza = route.Elements().Single(child => child.Name.Namespace != Ns);
        return new RouteStanza(new XElement(stanza),
            denied is null ? null : new RoomCreationDenied((string)denied.Attribute("type")!, (string)denied.Attribute("text")!),
            (string?)route.Attribute("reserved") == "true",
            relayed is null ? null : new RelayedBy((string)relayed.Attribute("host")!, new ForwardNumber((string)relayed.Attribute("session")!,
                (long)relayed.Attribute("number")!, (long)relayed.Attribute("acknowledged")!)));
    }

    private static RoomListingChanged ListingFromXml(XElement listing) => new(Jid.Parse((string)listing.Attribute("room")!),
        (string)listing.Attribute("name")!, (int)listing.Attribute("occupants")!, (bool)listing.Attribute("public")!,
        (bool)listing.Attribute("exists")!, (bool)listing.Attribute("persistent")!);

    private static RoomIndexRecovered IndexFromXml(XElement index) => new(
        index.Elements(Ns + "room").Select(room => new IndexedRoom((string)room.Attribute("jid")!, (string)room.Attribute("name")!,
            (bool)room.Attribute("public")!)).ToList(),
        (string?)index.Attribute("tracks-occupancy") == "true" ? index.Elements(Ns + "occupied").Select(room => (string)room.Attribute("jid")!).ToList() : null);
}
