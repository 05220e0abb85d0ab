using System.Runtime.Serialization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Akka.Actor;
using Akka.Serialization;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// <see cref="RouteStanza"/> between primary-capable nodes (<see cref="RoomPlacement.Sharded"/>): a room directory hands a
/// stanza to the node holding its room. One XML element, the stanza as its child:
/// <c>&lt;route xmlns='urn:dmuc:route' reserved='true'&gt;&lt;denied type text/&gt;&lt;relayed host session number acknowledged/&gt;STANZA&lt;/route&gt;</c>.
/// </summary>
public sealed class RouteStanzaSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private static readonly XNamespace Ns = "urn:dmuc:route";
    private static readonly XmlReaderSettings ReaderSettings = new() { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };

    public override int Identifier => 4284;

    public override string Manifest(object o) =>
        o is RouteStanza ? "route" : throw new ArgumentException($"{o.GetType()} is not a routed stanza", nameof(o));

    public override byte[] ToBinary(object obj)
    {
        var route = (RouteStanza)obj;
        var element = new XElement(Ns + "route",
            route.CreationReserved ? new XAttribute("reserved", "true") : null,
            route.CreationDenied is { } denied ? new XElement(Ns + "denied", new XAttribute("type", denied.Type), new XAttribute("text", denied.Text)) : null,
            route.Relayed is { } relayed
                ? new XElement(Ns + "relayed", new XAttribute("host", relayed.Host), new XAttribute("session", relayed.Number.Session),
                    new XAttribute("number", relayed.Number.Number), new XAttribute("acknowledged", relayed.Number.Acknowledged))
                : null,
            route.Stanza);
        return Encoding.UTF8.GetBytes(element.ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces));
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        try
        {
            using var reader = XmlReader.Create(new MemoryStream(bytes), ReaderSettings);
            var route = XElement.Load(reader);
            var denied = route.Element(Ns + "denied");
            var relayed = route.Element(Ns + "relayed");
            var stanza = route.Elements().Single(child => child.Name.Namespace != Ns);
            return new RouteStanza(new XElement(stanza),
                denied is null ? null : new RoomCreationDenied((string)denied.Attribute("type")!, (string)denied.Attribute("text")!),
                (string?)route.Attribute("reserved") == "true",
                relayed is null ? null : new RelayedBy((string)relayed.Attribute("host")!, new ForwardNumber((string)relayed.Attribute("session")!,
                    (long)relayed.Attribute("number")!, (long)relayed.Attribute("acknowledged")!)));
        }
        catch (Exception error) when (error is XmlException or FormatException or InvalidOperationException or ArgumentNullException)
        {
            throw new SerializationException($"malformed routed stanza: {error.Message}", error);
        }
    }
}
