using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// Voice requests (XEP-0045 §7.13, §8.6): a visitor asks for voice with a muc#request form; the room hands the
/// moderators an approval form; a moderator who submits it with muc#request_allow granted makes the visitor a
/// participant.
/// </summary>
internal static class VoiceRequests
{
    public const string FormType = "http://jabber.org/protocol/muc#request";
    private const string RequestAllow = "muc#request_allow";
    private const string RoomNick = "muc#roomnick";
    private const string RequesterJid = "muc#jid";

    public static bool IsVoiceRequestForm(XElement message) =>
        message.Element(Ns.DataForms + "x") is { } form && DataForm.Read(form).FormType == FormType;

    public static void HandleVoiceForm(StanzaContext ctx)
    {
        var form = DataForm.Read(ctx.Stanza.Element(Ns.DataForms + "x")!);
        if (ctx.Room.OccupantByRealJid(ctx.From) is not { } sender)
            ctx.ReplyError(StanzaErrorCondition.NotAcceptable, "cancel", Stanzas.NotInRoom);
        else if (form.Type != "submit")
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify", "Not a submitted form");
        else if (form.Has(RequestAllow))
            HandleApproval(ctx, sender, form);
        else
            HandleRequest(ctx, sender);
    }

    /// <summary>The visitor's request goes to every moderator; it counts against the sender's stanza rate so that
    /// a visitor cannot flood the moderators with forms.</summary>
    private static void HandleRequest(StanzaContext ctx, Occupant requester)
    {
        var room = ctx.Room;
        if (requester.Role != Role.Visitor)
        {
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify", "You already have voice");
            return;
        }
        if (!room.Occupants.Values.Any(occupant => occupant.Role == Role.Moderator))
        {
            ctx.ReplyError(StanzaErrorCondition.RecipientUnavailable, "wait", "No moderator is in the room to grant voice");
            return;
        }
        if (OccupantStanzaRate.Refuse(ctx, requester)) return;
        var approval = Stanzas.Message(room.RoomJid.ToString()).WithChild(DataForm.Form("form", FormType, "Voice request",
            "To approve this request for voice, select the \"Grant voice to this person?\" checkbox and submit the form.",
            DataForm.Field("muc#role", "list-single", "Requested role", Role.Participant.Wire()),
            DataForm.Field(RequesterJid, "jid-single", "User ID", ctx.From.ToString()),
            DataForm.Field(RoomNick, "text-single", "Room Nickname", requester.Nick),
            DataForm.BooleanField(RequestAllow, "Grant voice to this person?", false)));
        ctx.Broadcast(approval, occupant => occupant.Role == Role.Moderator);
    }

    /// <summary>A moderator's answer: granted, the visitor becomes a participant; declined, nothing changes.</summary>
    private static void HandleApproval(StanzaContext ctx, Occupant moderator, DataForm form)
    {
        var room = ctx.Room;
        if (moderator.Role != Role.Moderator)
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth", "Only moderators may grant voice");
            return;
        }
        if (form.Boolean(RequestAllow) is not { } granted)
        {
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify", $"{RequestAllow} is not a boolean");
            return;
        }
        var requester = form.Value(RoomNick) is { Length: > 0 } nick ? room.OccupantByNick(nick)
            : Jid.TryParse(form.Value(RequesterJid), out var jid) ? room.OccupantByRealJid(jid)
            : null;
        if (requester is null)
        {
            ctx.ReplyError(StanzaErrorCondition.ItemNotFound, "cancel", "The requester is not in the room");
            return;
        }
        // Another moderator may have answered first.
        if (!granted || requester.Role != Role.Visitor) return;
        Moderation.SetRole(ctx, ctx.From, requester.Nick, Role.Participant, reason: null)?.Send(ctx);
    }
}
