using System.Globalization;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Builders for the stanzas and MUC payloads the room sends.</summary>
public static class Stanzas
{
    /// <summary>Prosody's text for stanzas that need the sender to be in the room.</summary>
    public const string NotInRoom = "You are not currently connected to this chat";

    public static readonly XNamespace OccupantId = "urn:xmpp:occupant-id:0";
    public static readonly XNamespace Hints = "urn:xmpp:hints";
    public static readonly XNamespace Conference = "jabber:x:conference";
    public static readonly XNamespace MucRegister = "http://jabber.org/protocol/muc#register";
    public static readonly XNamespace MucUnique = "http://jabber.org/protocol/muc#unique";

    public static XElement Presence(string from, string? type = null) =>
        new(Ns.Client + "presence", new XAttribute("from", from), type is null ? null : new XAttribute("type", type));

    public static XElement Message(string from, string? type = null) =>
        new(Ns.Client + "message", new XAttribute("from", from), type is null ? null : new XAttribute("type", type));

    public static XElement MucUserX(params IEnumerable<object?> content) => new(Ns.MucUser + "x", content);

    public static XElement Status(int code) => new(Ns.MucUser + "status", new XAttribute("code", code));

    /// <summary>A muc#user item (or a muc#admin one, with <paramref name="ns"/>).</summary>
    public static XElement Item(Affiliation affiliation, Role? role = null, string? jid = null, string? nick = null,
        string? actorNick = null, string? actorJid = null, string? reason = null, XNamespace? ns = null) =>
        new((ns ?? Ns.MucUser) + "item",
            new XAttribute("affiliation", affiliation.Wire()),
            role is null ? null : new XAttribute("role", role.Value.Wire()),
            jid is null ? null : new XAttribute("jid", jid),
            nick is null ? null : new XAttribute("nick", nick),
            actorNick is null && actorJid is null
                ? null
                : new XElement((ns ?? Ns.MucUser) + "actor",
                    actorNick is null ? null : new XAttribute("nick", actorNick),
                    actorJid is null ? null : new XAttribute("jid", actorJid)),
            reason is null ? null : new XElement((ns ?? Ns.MucUser) + "reason", reason));

    /// <summary>XEP-0203 delay, stamped by the room.</summary>
    public static XElement Delay(Jid room, DateTimeOffset stamp) =>
        new(Ns.Delay + "delay", new XAttribute("from", room.ToString()), new XAttribute("stamp", Stamp(stamp)));

    /// <summary>XEP-0082 date-time in UTC.</summary>
    public static string Stamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// A copy of a client's stanza without the MUC payloads it may not forge or that the room rewrites
    /// (muc, muc#user, occupant-id) and without addressing.
    /// </summary>
    public static XElement WithoutMucPayload(XElement stanza)
    {
        var copy = new XElement(stanza);
        copy.Attribute("to")?.Remove();
        copy.Attribute("from")?.Remove();
        copy.Elements().Where(IsMucPayload).Remove();
        return copy;
    }

    private static bool IsMucPayload(XElement child) =>
        child.Name.Namespace == Ns.Muc || child.Name.Namespace == Ns.MucUser || child.Name.Namespace == OccupantId;

    public static XElement WithFrom(XElement stanza, string from)
    {
        var copy = new XElement(stanza);
        copy.SetAttributeValue("from", from);
        return copy;
    }

    public static XElement OccupantIdElement(string id) => new(OccupantId + "occupant-id", new XAttribute("id", id));

    /// <summary>Adds a child and returns the element, so stanzas read as one expression.</summary>
    public static XElement WithChild(this XElement element, object? child)
    {
        element.Add(child);
        return element;
    }
}
