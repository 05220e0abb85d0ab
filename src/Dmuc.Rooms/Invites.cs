using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Mediated invitations and declines (XEP-0045 §7.8.2), sent through the room.</summary>
internal static class Invites
{
    public static void HandleMucUserMessage(StanzaContext ctx, XElement mucUser)
    {
        var payload = mucUser.Elements().FirstOrDefault();
        var to = payload?.Attribute("to")?.Value;
        if (payload?.Name == Ns.MucUser + "invite" && to is not null) HandleMediatedInvite(ctx, payload, to);
        else if (payload?.Name == Ns.MucUser + "decline" && to is not null) HandleMediatedDecline(ctx, payload, to);
        else ctx.ReplyError(StanzaErrorCondition.BadRequest, "cancel");
    }

    private static void HandleMediatedInvite(StanzaContext ctx, XElement invite, string to)
    {
        var room = ctx.Room;
        if (!Jid.TryParse(to, out var invitee))
        {
            ctx.ReplyError(StanzaErrorCondition.JidMalformed, "cancel");
            return;
        }
        var inviterOccupant = room.OccupantByRealJid(ctx.From);
        var inviterAffiliation = room.AffiliationOf(ctx.From);
        var inviterRole = inviterOccupant?.Role ?? room.DefaultRole(inviterAffiliation);
        var required = room.Config.AllowMemberInvites ? Affiliation.Member : Affiliation.Admin;
        if (inviterRole <= Role.Visitor || (room.Config.MembersOnly && inviterAffiliation < required))
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth");
            return;
        }
        // In semi-anonymous rooms the invitee learns the inviter's nick, not their JID.
        var hideInviter = room.Config.Whois == Whois.Moderators && inviterOccupant is not null
            && room.DefaultRole(room.AffiliationOf(invitee)) != Role.Moderator;
        var inviter = hideInviter ? room.OccupantJid(inviterOccupant!.Nick) : ctx.From.ToString();
        var reason = invite.Element(Ns.MucUser + "reason")?.Value ?? "";
        var message = Forwarded(ctx, Stanzas.MucUserX(new XElement(Ns.MucUser + "invite", new XAttribute("from", inviter),
                new XElement(Ns.MucUser + "reason", NullIfEmpty(reason))),
            room.Config.Password is { } password ? new XElement(Ns.MucUser + "password", password) : null));
        message.Add(new XElement(Stanzas.Conference + "x", new XAttribute("jid", room.RoomJid.ToString()), NullIfEmpty(reason)));
        AddBodyIfMissing(message, $"{inviter} invited you to the room {room.RoomJid}", reason);
        // Inviting someone into a members-only room makes them a member, or they could not enter.
        if (room.Config.MembersOnly && room.AffiliationOf(invitee) == Affiliation.None)
            Affiliations.SetAffiliation(ctx, null, invitee, Affiliation.Member, $"Invited by {inviter}", NickReservation.Keep);
        ctx.Send(invitee, message);
    }

    private static void HandleMediatedDecline(StanzaContext ctx, XElement decline, string to)
    {
        var room = ctx.Room;
        if (!Jid.TryParse(to, out var declinee))
        {
            ctx.ReplyError(StanzaErrorCondition.JidMalformed, "cancel");
            return;
        }
        var reason = decline.Element(Ns.MucUser + "reason")?.Value ?? "";
        var message = Forwarded(ctx, Stanzas.MucUserX(new XElement(Ns.MucUser + "decline", new XAttribute("from", ctx.From.ToString()),
            new XElement(Ns.MucUser + "reason", NullIfEmpty(reason)))));
        AddBodyIfMissing(message, $"{ctx.From} declined your invite to the room {room.RoomJid}", reason);
        if (declinee.Bare == room.RoomJid && declinee.Resource is { } nick && room.OccupantByNick(nick) is { } occupant)
            ctx.SendToSessions(occupant, message);
        else
            ctx.Send(declinee, message);
    }

    /// <summary>The sender's message, relayed by the room with the room's own muc#user payload.</summary>
    private static XElement Forwarded(StanzaContext ctx, XElement mucUser)
    {
        var message = Stanzas.WithoutMucPayload(ctx.Stanza);
        message.SetAttributeValue("from", ctx.Room.RoomJid.ToString());
        message.Add(mucUser);
        return message;
    }

    /// <summary>A readable body for clients that do not understand invitations.</summary>
    private static void AddBodyIfMissing(XElement message, string text, string reason)
    {
        if (message.Element(Ns.Client + "body") is not null) return;
        message.Add(new XElement(Ns.Client + "body", reason.Length == 0 ? text : $"{text} ({reason})"));
    }

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;
}
