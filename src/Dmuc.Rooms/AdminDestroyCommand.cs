using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// The service administrators' ad-hoc command (XEP-0050) that destroys rooms, on the node Prosody uses so
/// that clients written for Prosody work unchanged. The service asks each named room to destroy itself and
/// then answers with the list of rooms that were destroyed.
/// </summary>
public static class AdminDestroyCommand
{
    public const string Node = "http://prosody.im/protocol/muc#destroy";
    private static readonly XNamespace Commands = "http://jabber.org/protocol/commands";

    /// <summary>Whether a service stanza is this command at all.</summary>
    public static bool Matches(XElement stanza) =>
        stanza.Name == Ns.Client + "iq" && stanza.Attribute("type")?.Value == "set"
        && stanza.Element(Commands + "command")?.Attribute("node")?.Value == Node;

    /// <summary>
    /// The rooms the command names, or the reply to send instead: forbidden for non-admins, the form to fill
    /// in when none is given, bad-request for addresses that are not rooms of this service.
    /// </summary>
    public static IReadOnlyList<Jid> RoomsToDestroy(XElement stanza, MucServiceOptions options, out Delivery? reply)
    {
        reply = null;
        var from = Jid.Parse(stanza.Attribute("from")!.Value);
        if (!options.IsAdmin(from.Bare))
        {
            reply = ErrorReply(stanza, from, options, StanzaErrorCondition.Forbidden, "only service administrators may destroy rooms");
            return [];
        }
        var values = stanza.Element(Commands + "command")!.Descendants(Ns.DataForms + "field")
            .Where(field => field.Attribute("var")?.Value == "rooms")
            .Elements(Ns.DataForms + "value").Select(value => value.Value.Trim()).ToList();
        if (values.Count == 0)
        {
            reply = new Delivery(from, Reply(stanza, options, "executing", FormToFill()));
            return [];
        }
        var rooms = new List<Jid>();
        foreach (var value in values)
        {
            if (!Jid.TryParse(value, out var room) || room.Local is null || room.Domain != options.ServiceDomain)
            {
                reply = ErrorReply(stanza, from, options, StanzaErrorCondition.BadRequest, $"'{value}' is not a room of this service");
                return [];
            }
            rooms.Add(room.Bare);
        }
        return rooms;
    }

    /// <summary>The command's final answer once the rooms have been asked.</summary>
    public static Delivery Completed(XElement stanza, MucServiceOptions options, IEnumerable<Jid> destroyed)
    {
        var note = new XElement(Commands + "note", new XAttribute("type", "info"),
            "The following rooms were destroyed:\n" + string.Join("\n", destroyed));
        return new Delivery(Jid.Parse(stanza.Attribute("from")!.Value), Reply(stanza, options, "completed", note));
    }

    private static XElement Reply(XElement request, MucServiceOptions options, string status, XElement payload) =>
        new(Ns.Client + "iq",
            new XAttribute("type", "result"),
            new XAttribute("id", request.Attribute("id")?.Value ?? ""),
            new XAttribute("from", options.ServiceDomain),
            new XElement(Commands + "command",
                new XAttribute("node", Node),
                new XAttribute("status", status),
                new XAttribute("sessionid", Guid.NewGuid().ToString("N")),
                payload));

    private static XElement FormToFill() =>
        new(Ns.DataForms + "x", new XAttribute("type", "form"),
            new XElement(Ns.DataForms + "title", "Destroy rooms"),
            new XElement(Ns.DataForms + "field", new XAttribute("var", "rooms"), new XAttribute("type", "jid-multi"),
                new XAttribute("label", "Rooms to destroy"), new XElement(Ns.DataForms + "required")));

    private static Delivery ErrorReply(XElement stanza, Jid from, MucServiceOptions options, StanzaErrorCondition condition, string text)
    {
        var reply = StanzaError.Reply(stanza, condition, text);
        reply.Attribute("to")?.Remove();
        reply.SetAttributeValue("from", options.ServiceDomain);
        return new Delivery(from, reply);
    }
}
