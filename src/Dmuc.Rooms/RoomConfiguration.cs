using System.Globalization;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>The owner's muc#owner namespace: the muc#roomconfig form, instant rooms, destruction.</summary>
internal static class RoomConfiguration
{
    private const string FormType = "http://jabber.org/protocol/muc#roomconfig";
    private const string RoomName = "muc#roomconfig_roomname";
    private const string RoomDescription = "muc#roomconfig_roomdesc";
    private const string Language = "muc#roomconfig_lang";
    private const string Persistent = "muc#roomconfig_persistentroom";
    private const string Public = "muc#roomconfig_publicroom";
    private const string Password = "muc#roomconfig_roomsecret";
    private const string MembersOnly = "muc#roomconfig_membersonly";
    private const string AllowMemberInvites = "{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites";
    private const string ChangeSubject = "muc#roomconfig_changesubject";
    private const string Moderated = "muc#roomconfig_moderatedroom";
    private const string Whois = "muc#roomconfig_whois";
    private const string HistoryLength = "muc#roomconfig_historylength";
    private const string PresenceBroadcast = "muc#roomconfig_presencebroadcast";

    private static readonly (string Value, PresenceBroadcastRoles Flag)[] BroadcastRoleValues =
    [
        ("none", PresenceBroadcastRoles.None), ("visitor", PresenceBroadcastRoles.Visitor),
        ("participant", PresenceBroadcastRoles.Participant), ("moderator", PresenceBroadcastRoles.Moderator),
    ];

    public static void HandleOwnerQueryGet(StanzaContext ctx)
    {
        if (RefuseNonOwner(ctx)) return;
        ctx.ReplyResult(new XElement(Ns.MucOwner + "query", Form(ctx.Room)));
    }

    public static void HandleOwnerQuerySet(StanzaContext ctx)
    {
        if (RefuseNonOwner(ctx)) return;
        switch (ctx.Payload!.Elements().FirstOrDefault())
        {
            case null:
                ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify");
                break;
            case { } destroy when destroy.Name == Ns.MucOwner + "destroy":
                Lifecycle.Destroy(ctx, destroy.Element(Ns.MucOwner + "reason")?.Value, destroy.Attribute("jid")?.Value,
                    destroy.Element(Ns.MucOwner + "password")?.Value);
                ctx.ReplyResult();
                break;
            case { } form when form.Name == Ns.DataForms + "x":
                ProcessForm(ctx, DataForm.Read(form));
                break;
            default:
                ctx.ReplyError(StanzaErrorCondition.ServiceUnavailable, "cancel");
                break;
        }
    }

    private static bool RefuseNonOwner(StanzaContext ctx)
    {
        if (ctx.Room.AffiliationOf(ctx.From) == Affiliation.Owner) return false;
        ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth", "Only owners can configure rooms");
        return true;
    }

    /// <summary>
    /// A submitted form changes the fields it carries (an empty one accepts the defaults: an instant room)
    /// and unlocks a new room. Occupants hear of changes by status 104, or 172/173 when the JID visibility changed.
    /// </summary>
    private static void ProcessForm(StanzaContext ctx, DataForm form)
    {
        if (form.Type == "cancel")
        {
            ctx.ReplyResult();
            return;
        }
        if (form.Type != "submit")
        {
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "cancel", "Not a submitted form");
            return;
        }
        if (!form.IsEmpty && form.FormType != FormType)
        {
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "cancel", "Form is not of type room configuration");
            return;
        }
        var room = ctx.Room;
        var before = room.Config;
        var after = Submitted(before, form, ctx.Options);
        if (after != before || room.LockedUntil is not null) ctx.Emit(new RoomConfigured(after));
        if (after.MembersOnly && !before.MembersOnly) RemoveNonMembers(ctx);
        ctx.ReplyResult();

        var codes = new List<XElement>();
        if (after with { Whois = before.Whois } != before) codes.Add(Stanzas.Status(104));
        if (after.Whois != before.Whois) codes.Add(Stanzas.Status(after.Whois == Rooms.Whois.Anyone ? 172 : 173));
        if (codes.Count > 0) ctx.Broadcast(Stanzas.Message(room.RoomJid.ToString(), "groupchat").WithChild(Stanzas.MucUserX(codes)));
    }

    /// <summary>XEP-0045 §10.2: a room that becomes members-only removes non-members, with status 322.</summary>
    private static void RemoveNonMembers(RoomContext ctx)
    {
        foreach (var occupant in ctx.Room.OccupantsInOrder.Where(occupant => ctx.Room.AffiliationOf(occupant.BareJid) <= Affiliation.None).ToList())
        {
            ctx.Emit(new OccupantRoleChanged(occupant.Nick, Role.None));
            Rooms.PresenceBroadcast.Publicise(ctx, occupant with { Role = Role.None },
                new PresenceNotice { Codes = [Stanzas.Status(322)], PreviousRole = occupant.Role });
        }
    }

    /// <summary>The configuration with the submitted fields applied; values that make no sense are ignored.</summary>
    private static RoomConfig Submitted(RoomConfig config, DataForm form, MucServiceOptions options)
    {
        string? Text(string field, string? current) => form.Has(field) ? NullIfEmpty(form.Value(field)) : current;
        bool Flag(string field, bool current) => form.Boolean(field) ?? current;

        return config with
        {
            Name = Text(RoomName, config.Name),
            Description = Text(RoomDescription, config.Description),
            Language = Text(Language, config.Language),
            Persistent = Flag(Persistent, config.Persistent),
            Public = Flag(Public, config.Public),
            Password = Text(Password, config.Password),
            MembersOnly = Flag(MembersOnly, config.MembersOnly),
            AllowMemberInvites = Flag(AllowMemberInvites, config.AllowMemberInvites),
            ChangeSubject = Flag(ChangeSubject, config.ChangeSubject),
            Moderated = Flag(Moderated, config.Moderated),
            Whois = form.Value(Whois) switch
            {
                "anyone" => Rooms.Whois.Anyone,
                "moderators" => Rooms.Whois.Moderators,
                _ => config.Whois,
            },
            HistoryLength = int.TryParse(form.Value(HistoryLength), NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                ? Math.Min(length, options.MaxHistoryStored)
                : config.HistoryLength,
            PresenceBroadcast = form.Has(PresenceBroadcast)
                ? BroadcastRoleValues.Where(role => form.Values(PresenceBroadcast).Contains(role.Value))
                    .Aggregate(PresenceBroadcastRoles.Nobody, (roles, role) => roles | role.Flag)
                : config.PresenceBroadcast,
        };
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    private static XElement Form(RoomData room)
    {
        var config = room.Config;
        return DataForm.Form("form", FormType, $"Configuration for {room.RoomJid}",
            "Complete and submit this form to configure the room.",
            DataForm.Field(RoomName, "text-single", "Title", config.Name ?? ""),
            DataForm.Field(RoomDescription, "text-single", "Description", config.Description ?? ""),
            DataForm.Field(Language, "text-single", "Language tag for room (e.g. 'en', 'de', 'fr' etc.)", config.Language ?? ""),
            DataForm.BooleanField(Persistent, "Persistent (room should remain even when it is empty)", config.Persistent),
            DataForm.BooleanField(Public, "Include room information in public lists", config.Public),
            DataForm.Field(Password, "text-private", "Password", config.Password ?? ""),
            DataForm.BooleanField(MembersOnly, "Only allow members to join", config.MembersOnly),
            DataForm.BooleanField(AllowMemberInvites, "Allow members to invite new members", config.AllowMemberInvites),
            DataForm.BooleanField(ChangeSubject, "Allow anyone to set the room's subject", config.ChangeSubject),
            DataForm.BooleanField(Moderated, "Moderated (require permission to speak)", config.Moderated),
            DataForm.Field(Whois, "list-single", "Addresses (JIDs) of room occupants may be viewed by:",
                    config.Whois == Rooms.Whois.Anyone ? "anyone" : "moderators")
                .WithChild(DataForm.Option("moderators", "Moderators only"))
                .WithChild(DataForm.Option("anyone", "Anyone")),
            DataForm.Field(HistoryLength, "text-single", "Maximum number of history messages returned by room",
                config.HistoryLength.ToString(CultureInfo.InvariantCulture)),
            DataForm.Field(PresenceBroadcast, "list-multi", "Only show participants with roles:",
                    BroadcastRoleValues.Where(role => config.PresenceBroadcast.HasFlag(role.Flag)).Select(role => role.Value))
                .WithChild(BroadcastRoleValues.Select(role => DataForm.Option(role.Value))));
    }
}
