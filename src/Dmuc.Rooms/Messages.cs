using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Messages: groupchat to the room, private messages between occupants.</summary>
public static class Messages
{
    /// <summary>What an occupant without voice is told when it speaks.</summary>
    public const string NoVoiceText = "You do not currently have permission to speak in this chat";

    /// <summary>Whether an occupant of this role may send messages to everyone (visitors have no voice, §8.3).</summary>
    public static bool MaySpeak(Role role) => role > Role.Visitor;

    internal static void HandleMessageToRoom(StanzaContext ctx)
    {
        switch (ctx.Type)
        {
            case "groupchat":
                HandleGroupchatToRoom(ctx);
                break;
            case "error":
                Occupants.HandleKickableError(ctx);
                break;
            case null or "normal" when ctx.Stanza.Element(Ns.MucUser + "x") is { } mucUser:
                Invites.HandleMucUserMessage(ctx, mucUser);
                break;
            case null or "normal" when VoiceRequests.IsVoiceRequestForm(ctx.Stanza):
                VoiceRequests.HandleVoiceForm(ctx);
                break;
            default:
                ctx.ReplyError(StanzaErrorCondition.ServiceUnavailable, "cancel");
                break;
        }
    }

    private static void HandleGroupchatToRoom(StanzaContext ctx)
    {
        var sender = ctx.Room.OccupantByRealJid(ctx.From) ?? FormerOccupant(ctx);
        if (sender is null)
        {
            ctx.ReplyError(StanzaErrorCondition.NotAcceptable, "cancel", Stanzas.NotInRoom);
            return;
        }
        if (!MaySpeak(sender.Role))
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth", NoVoiceText);
            return;
        }
        if (OccupantStanzaRate.Refuse(ctx, sender)) return;
        if (Subject.IsSubjectChange(ctx.Stanza))
        {
            Subject.HandleSubjectChange(ctx, sender);
            return;
        }
        if (!Retractions.MayRetract(ctx, sender, out var retractedId)) return;
        var stanzaId = StanzaIds.New();
        var message = Groupchat(ctx, sender, stanzaId);
        History.Record(ctx, message, sender, stanzaId);
        if (retractedId is not null) ctx.Emit(new MessageRetracted(retractedId, ctx.Now, message.Attribute("id")?.Value));
        // A message held through a netsplit reaches the rest of the room late: it says when it was sent.
        ctx.Broadcast(ctx.SentAt is { } sentAt ? new XElement(message).WithChild(Stanzas.Delay(ctx.Room.RoomJid, sentAt)) : message);
    }

    /// <summary>
    /// The sender as the room had them when a replica served their message, should the room have let them go since
    /// (<see cref="HandleStanza.SpokenAs"/>): a participant without sessions, so that the message is kept and relayed as theirs
    /// and echoed to nobody.
    /// </summary>
    private static Occupant? FormerOccupant(StanzaContext ctx) =>
        ctx.SpokenAs is { } nick ? new Occupant(nick, ctx.From.Bare, Role.Participant, [], Entered: -1) : null;

    /// <summary>
    /// The message as the room relays it: from the sender's occupant JID, with an id (clients match their
    /// echo by it), the room's XEP-0359 stanza-id and the sender's occupant id; anything claiming to come
    /// from the room itself is dropped.
    /// </summary>
    private static XElement Groupchat(StanzaContext ctx, Occupant sender, string stanzaId)
    {
        var room = ctx.Room;
        var message = GroupchatFrom(ctx.Stanza, room.RoomJid, sender.Nick);
        if (message.Attribute("id") is null) message.SetAttributeValue("id", stanzaId);
        message.Add(new XElement(Ns.StanzaId + "stanza-id", new XAttribute("id", stanzaId), new XAttribute("by", room.RoomJid.ToString())));
        if (OccupantIds.For(room, sender.BareJid) is { } occupantId) message.Add(Stanzas.OccupantIdElement(occupantId));
        return message;
    }

    /// <summary>
    /// A groupchat message as it comes from <paramref name="nick"/> in <paramref name="room"/>: without <c>to</c>, and
    /// without anything claiming to come from the room itself (its delay, stanza-id or occupant-id), which only the room adds.
    /// </summary>
    public static XElement GroupchatFrom(XElement stanza, Jid room, string nick)
    {
        var roomJid = room.ToString();
        var message = new XElement(stanza);
        message.Attribute("to")?.Remove();
        message.Elements().Where(child => child.Name == Stanzas.OccupantId + "occupant-id" || ClaimsToBeFromRoom(child, roomJid)).Remove();
        message.SetAttributeValue("from", $"{room}/{nick}");
        return message;
    }

    private static readonly XName LegacyDelay = (XNamespace)"jabber:x:delay" + "x";

    private static bool ClaimsToBeFromRoom(XElement child, string roomJid) =>
        ((child.Name == Ns.Delay + "delay" || child.Name == LegacyDelay) && child.Attribute("from")?.Value == roomJid)
        || (child.Name == Ns.StanzaId + "stanza-id" && child.Attribute("by")?.Value == roomJid);

    private static bool MaySendPrivateMessages(PrivateMessagesFrom allowed, Role role) => allowed switch
    {
        PrivateMessagesFrom.Anyone => true,
        PrivateMessagesFrom.Participants => role >= Role.Participant,
        PrivateMessagesFrom.Moderators => role >= Role.Moderator,
        _ => false,
    };

    /// <summary>An in-room private message as its recipient gets it: from the sender's occupant JID, marked as MUC (§7.5).</summary>
    public static XElement PrivateMessageFrom(XElement stanza, Jid room, string senderNick)
    {
        var message = Stanzas.WithoutMucPayload(stanza).WithChild(Stanzas.MucUserX());
        message.SetAttributeValue("from", $"{room}/{senderNick}");
        return message;
    }

    /// <summary>A private message to room/nick reaches every session of that occupant, from the sender's nick.</summary>
    internal static void HandleMessageToOccupant(StanzaContext ctx, string nick)
    {
        var room = ctx.Room;
        var sender = room.OccupantByRealJid(ctx.From);
        if (sender is null)
        {
            if (ctx.Type != "error") ctx.ReplyError(StanzaErrorCondition.NotAcceptable, "cancel", Stanzas.NotInRoom);
            return;
        }
        if (ctx.Type == "groupchat")
        {
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify");
            return;
        }
        if (ctx.Type == "error" && Occupants.IsKickable(ctx.Stanza))
        {
            Occupants.HandleKickableError(ctx);
            return;
        }
        if (ctx.Type != "error" && !MaySendPrivateMessages(room.Config.AllowPrivateMessages, sender.Role))
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "cancel", "Private messages are not allowed in this room");
            return;
        }
        if (room.OccupantByNick(nick) is not { } recipient)
        {
            ctx.ReplyError(StanzaErrorCondition.ItemNotFound, "cancel", "Recipient not in room");
            return;
        }
        var message = PrivateMessageFrom(ctx.Stanza, room.RoomJid, sender.Nick);
        if (OccupantIds.For(room, sender.BareJid) is { } occupantId) message.Add(Stanzas.OccupantIdElement(occupantId));
        ctx.SendToSessions(recipient, message);
    }
}
