using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// XEP-0045 §7.10 registration (jabber:iq:register on the room): affiliated users reserve a nickname, which
/// makes them members; removing the registration drops membership (and, in members-only rooms, the user).
/// </summary>
internal static class Registration
{
    private const string NickField = "muc#register_roomnick";

    public static void HandleRegisterIq(StanzaContext ctx)
    {
        var room = ctx.Room;
        var user = ctx.From.Bare;
        var affiliation = room.AffiliationOf(user);
        if (affiliation == Affiliation.Outcast)
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth");
            return;
        }
        if (affiliation == Affiliation.None && !ctx.Options.AllowUnaffiliatedRegistration)
        {
            ctx.ReplyError(StanzaErrorCondition.RegistrationRequired, "auth");
            return;
        }
        if (ctx.Type == "get") SendRegistrationForm(ctx, room.RegisteredNick(user));
        else if (ctx.Payload!.Element(Ns.Register + "remove") is not null) Unregister(ctx, user, affiliation);
        else Register(ctx, user, affiliation);
    }

    private static void SendRegistrationForm(StanzaContext ctx, string? registeredNick)
    {
        var query = new XElement(Ns.Register + "query");
        if (registeredNick is not null)
            query.Add(new XElement(Ns.Register + "registered"), new XElement(Ns.Register + "username", registeredNick));
        else
            query.Add(DataForm.Form("form", Stanzas.MucRegister.NamespaceName, null, null,
                DataForm.Field(NickField, "text-single", "Nickname").WithChild(new XElement(Ns.DataForms + "required"))));
        ctx.ReplyResult(query);
    }

    private static void Unregister(StanzaContext ctx, Jid user, Affiliation affiliation)
    {
        var remaining = affiliation == Affiliation.Member ? Affiliation.None : affiliation;
        Reply(ctx, Affiliations.SetAffiliation(ctx, null, user, remaining, null, NickReservation.Clear));
    }

    private static void Register(StanzaContext ctx, Jid user, Affiliation affiliation)
    {
        var room = ctx.Room;
        if (ctx.Payload!.Element(Ns.DataForms + "x") is not { } formElement)
        {
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify", "Missing dataform");
            return;
        }
        var form = DataForm.Read(formElement);
        if (form.FormType != Stanzas.MucRegister.NamespaceName)
        {
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify", "Error in form");
            return;
        }
        var nick = Nickname.Map(form.Value(NickField) ?? "");
        if (Nickname.Check(nick, ctx.Options.MaxNickLength) != Nickname.Problem.None)
        {
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify", "Invalid Nickname");
            return;
        }
        var usedByOther = room.OccupantByNick(nick) is { } occupant && occupant.BareJid != user;
        var reservedByOther = room.RegisteredJid(nick) is { } holder && holder != user;
        if (usedByOther || reservedByOther)
        {
            ctx.ReplyError(StanzaErrorCondition.Conflict, "cancel");
            return;
        }
        if (room.RegisteredNick(user) == nick)
        {
            ctx.ReplyResult();
            return;
        }
        var registered = affiliation == Affiliation.None ? Affiliation.Member : affiliation;
        Reply(ctx, Affiliations.SetAffiliation(ctx, null, user, registered, null, NickReservation.Reserve(nick)));
    }

    private static void Reply(StanzaContext ctx, Refusal? refusal)
    {
        if (refusal is { } refused) refused.Send(ctx);
        else ctx.ReplyResult();
    }
}
