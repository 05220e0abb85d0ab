using System.Text;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// IQs between occupants (to room/nick), e.g. vCard or version queries. A request is forwarded to the
/// target's primary session from the asker's occupant JID with a rewritten id that carries what is needed
/// to route the response back, and no state: the id is base64 of
/// "target real JID \0 original id \0 tag of the asking session". The tag is a MAC of the asker's real JID
/// under the room's secret salt, so the target learns nothing about who asked.
/// </summary>
internal static class PrivateIq
{
    // Queries about the user rather than one client go to the bare JID (as Prosody does).
    private static readonly HashSet<XNamespace> AccountQueries = ["vcard-temp", "http://jabber.org/protocol/pubsub", "urn:ietf:params:xml:ns:vcard-4.0"];

    public static void HandleIqToOccupant(StanzaContext ctx, string nick)
    {
        if (ctx.Type is "result" or "error") RouteResponse(ctx, nick);
        else RouteRequest(ctx, nick);
    }

    private static void RouteRequest(StanzaContext ctx, string nick)
    {
        var room = ctx.Room;
        if (room.OccupantByRealJid(ctx.From) is not { } asker)
        {
            ctx.ReplyError(StanzaErrorCondition.NotAcceptable, "cancel", Stanzas.NotInRoom);
            return;
        }
        if (room.OccupantByNick(nick) is not { } target)
        {
            ctx.ReplyError(StanzaErrorCondition.ItemNotFound, "cancel", "Recipient not in room");
            return;
        }
        if (target == asker && ctx.Type == "get" && ctx.Payload?.Name == Ns.Ping + "ping")
        {
            ctx.ReplyResult(); // XEP-0410: the session is still in the room
            return;
        }
        var targetJid = target.Primary.RealJid;
        var request = Stanzas.WithFrom(ctx.Stanza, room.OccupantJid(asker.Nick));
        request.Attribute("to")?.Remove();
        request.SetAttributeValue("id", EncodeId(targetJid, ctx.Id, OccupantIds.SessionTag(room, ctx.From)));
        var namespaceOfQuery = ctx.Payload?.Name.Namespace;
        ctx.Send(namespaceOfQuery is not null && AccountQueries.Contains(namespaceOfQuery) ? targetJid.Bare : targetJid, request);
    }

    /// <summary>A response from the target, addressed to the asker's occupant JID; anything that does not
    /// decode to a live asking session is dropped.</summary>
    private static void RouteResponse(StanzaContext ctx, string nick)
    {
        var room = ctx.Room;
        if (room.OccupantByNick(nick) is not { } asker || !TryDecodeId(ctx.Id, out var targetJid, out var originalId, out var tag)) return;
        if (ctx.From != targetJid && ctx.From != targetJid.Bare) return;
        if (room.OccupantByRealJid(targetJid) is not { } responder) return;
        var session = asker.Sessions.FirstOrDefault(session => OccupantIds.SessionTag(room, session.RealJid) == tag);
        if (session is null) return;
        var response = Stanzas.WithFrom(ctx.Stanza, room.OccupantJid(responder.Nick));
        response.Attribute("to")?.Remove();
        response.SetAttributeValue("id", originalId);
        ctx.Send(session.RealJid, response);
    }

    private static string EncodeId(Jid target, string originalId, string askerTag) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{target}\0{originalId}\0{askerTag}"));

    private static bool TryDecodeId(string id, out Jid target, out string originalId, out string askerTag)
    {
        target = null!;
        originalId = askerTag = "";
        var bytes = new byte[id.Length];
        if (!Convert.TryFromBase64String(id, bytes, out var length)) return false;
        var parts = Encoding.UTF8.GetString(bytes, 0, length).Split('\0');
        if (parts.Length != 3 || !Jid.TryParse(parts[0], out var parsed)) return false;
        (target, originalId, askerTag) = (parsed, parts[1], parts[2]);
        return true;
    }
}
