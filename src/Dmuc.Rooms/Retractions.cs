using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// Message retraction: a moderator's (XEP-0425, an iq to the room) and an author's own (XEP-0424, a groupchat message
/// the room relays). Either way the message, where the room still keeps it, becomes a tombstone in the history and
/// in the archive, and the retraction itself is kept, so that clients catching up later learn of it.
/// </summary>
internal static class Retractions
{
    public static readonly XNamespace Retract = "urn:xmpp:message-retract:1";
    public static readonly XNamespace Moderate = "urn:xmpp:message-moderate:1";

    /// <summary>XEP-0425: a moderator asks the room to retract a message it relayed.</summary>
    public static void HandleModerate(StanzaContext ctx)
    {
        var room = ctx.Room;
        var moderate = ctx.Payload!;
        if (ctx.Type != "set" || moderate.Element(Retract + "retract") is null || moderate.Attribute("id")?.Value is not { } stanzaId)
        {
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify", "Expected <moderate id='…'><retract/></moderate> in an iq set");
            return;
        }
        if (room.OccupantByRealJid(ctx.From) is not { Role: Role.Moderator } moderator)
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth", "Only moderators are allowed to moderate other participants' messages");
            return;
        }
        if (room.History.All(entry => entry.StanzaId != stanzaId))
        {
            // Older than what the room keeps in memory: its archive may still hold it.
            if (ctx.ArchiveLookup?.StanzaId != stanzaId)
            {
                ctx.LookUpInArchive(stanzaId);
                return;
            }
            if (!ctx.ArchiveLookup.Archived)
            {
                ctx.ReplyError(StanzaErrorCondition.ItemNotFound, "cancel", "The room has no such message (unknown, or expired)");
                return;
            }
        }
        var reason = moderate.Element(Moderate + "reason")?.Value;
        var announcementId = StanzaIds.New();
        var moderatorOccupantId = OccupantIds.For(room, moderator.BareJid);
        var announcement = Stanzas.Message(room.RoomJid.ToString(), "groupchat");
        announcement.SetAttributeValue("id", announcementId);
        announcement.Add(new XElement(Retract + "retract", new XAttribute("id", stanzaId),
                new XElement(Moderate + "moderated", new XAttribute("by", room.OccupantJid(moderator.Nick)),
                    moderatorOccupantId is null ? null : Stanzas.OccupantIdElement(moderatorOccupantId)),
                reason is null ? null : new XElement(Retract + "reason", reason)),
            new XElement(Ns.StanzaId + "stanza-id", new XAttribute("id", announcementId), new XAttribute("by", room.RoomJid.ToString())));
        ctx.Emit(new MessageRetracted(stanzaId, ctx.Now, announcementId, room.OccupantJid(moderator.Nick), moderatorOccupantId, reason));
        History.Keep(ctx, announcement, moderator, announcementId);
        ctx.Broadcast(announcement);
        ctx.ReplyResult();
    }

    /// <summary>
    /// XEP-0424 in a groupchat message: false when the sender tries to retract someone else's message (refused with
    /// forbidden). A retraction of a message the room still keeps tombstones it once the retraction is relayed.
    /// </summary>
    public static bool MayRetract(StanzaContext ctx, Occupant sender, out string? retractedId)
    {
        retractedId = ctx.Stanza.Element(Retract + "retract")?.Attribute("id")?.Value;
        if (retractedId is null) return true;
        var id = retractedId;
        if (ctx.Room.History.FirstOrDefault(entry => entry.StanzaId == id) is not { } original)
        {
            // Older than what the room keeps: relayed as it is; the archive keeps the retraction itself.
            retractedId = null;
            return true;
        }
        if (original.SenderBareJid == sender.BareJid) return true;
        ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth", "Only the author of a message may retract it");
        return false;
    }

    /// <summary>The message as the history and the archive show it once retracted: who sent it and when, nothing of what it said.</summary>
    public static XElement Tombstone(string original, MessageRetracted retracted)
    {
        var message = XElement.Parse(original);
        var kept = message.Elements().Where(child => child.Name == Stanzas.OccupantId + "occupant-id" || child.Name == Ns.StanzaId + "stanza-id").ToList();
        message.RemoveNodes();
        message.Add(kept, new XElement(Retract + "retracted", new XAttribute("stamp", Stanzas.Stamp(retracted.At)),
            retracted.RetractionId is null ? null : new XAttribute("id", retracted.RetractionId),
            retracted.ModeratedBy is null ? null : new XElement(Moderate + "moderated", new XAttribute("by", retracted.ModeratedBy),
                retracted.ModeratorOccupantId is null ? null : Stanzas.OccupantIdElement(retracted.ModeratorOccupantId)),
            retracted.Reason is null ? null : new XElement(Retract + "reason", retracted.Reason)));
        return message;
    }
}
