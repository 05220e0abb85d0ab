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
    private const string DefaultHistoryMessages = "muc#roomconfig_defaulthistorymessages";
    private const string MaxUsers = "muc#roomconfig_maxusers";
    private const string AllowPrivateMessages = "muc#roomconfig_allowpm";
    private const string EnableArchiving = "muc#roomconfig_enablearchiving";

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
        var values = new SubmittedValues(form);
        var after = Submitted(before, values, ctx.Options);
        if (values.InvalidField is { } invalid)
        {
            // RFC 6120 §8.3.3.10; nothing of the form is applied.
            ctx.ReplyError(StanzaErrorCondition.NotAcceptable, "modify", $"The value of {invalid} is not acceptable");
            return;
        }
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
            ctx.Emit(new OccupantRoleChanged(occupant.Nick, Role.None, ctx.Now));
            Rooms.PresenceBroadcast.Publicise(ctx, occupant with { Role = Role.None },
                new PresenceNotice { Codes = [Stanzas.Status(322)], PreviousRole = occupant.Role });
        }
    }

    /// <summary>
    /// The configuration with the submitted fields applied; <paramref name="values"/> records the first field
    /// whose value is not one the field can take (the form is then refused as a whole).
    /// </summary>
    private static RoomConfig Submitted(RoomConfig config, SubmittedValues values, MucServiceOptions options) =>
        config with
        {
            Name = values.Text(RoomName, config.Name),
            Description = values.Text(RoomDescription, config.Description),
            Language = values.Text(Language, config.Language),
            Persistent = values.Flag(Persistent, config.Persistent),
            Public = values.Flag(Public, config.Public),
            Password = values.Text(Password, config.Password),
            MembersOnly = values.Flag(MembersOnly, config.MembersOnly),
            AllowMemberInvites = values.Flag(AllowMemberInvites, config.AllowMemberInvites),
            ChangeSubject = values.Flag(ChangeSubject, config.ChangeSubject),
            Moderated = values.Flag(Moderated, config.Moderated),
            Whois = values.Choice(Whois, config.Whois, WhoisValues),
            HistoryLength = Math.Min(values.Count(HistoryLength, config.HistoryLength), options.MaxHistoryStored),
            PresenceBroadcast = values.Roles(PresenceBroadcast, config.PresenceBroadcast),
            DefaultHistoryMessages = values.OptionalCount(DefaultHistoryMessages, config.DefaultHistoryMessages),
            MaxUsers = values.OptionalCount(MaxUsers, config.MaxUsers) is > 0 and var max ? max : null,
            AllowPrivateMessages = values.Choice(AllowPrivateMessages, config.AllowPrivateMessages, PrivateMessagesValues),
            Archived = values.Flag(EnableArchiving, config.Archived),
        };

    private static readonly (string Value, PrivateMessagesFrom From)[] PrivateMessagesValues =
    [
        ("anyone", PrivateMessagesFrom.Anyone), ("participants", PrivateMessagesFrom.Participants),
        ("moderators", PrivateMessagesFrom.Moderators), ("none", PrivateMessagesFrom.Nobody),
    ];

    private static readonly (string Value, Whois Whois)[] WhoisValues = [("moderators", Rooms.Whois.Moderators), ("anyone", Rooms.Whois.Anyone)];

    /// <summary>Reads typed values out of a submitted form; a field left out keeps its current value.</summary>
    private sealed class SubmittedValues(DataForm form)
    {
        public string? InvalidField { get; private set; }

        public string? Text(string field, string? current) => form.Has(field) ? NullIfEmpty(form.Value(field)) : current;

        public bool Flag(string field, bool current) => !form.Has(field) ? current : form.Boolean(field) ?? Invalid(field, current);

        public int Count(string field, int current) =>
            !form.Has(field) ? current
            : int.TryParse(form.Value(field), NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count
            : Invalid(field, current);

        /// <summary>A count that may be left empty (no value: null, e.g. no limit).</summary>
        public int? OptionalCount(string field, int? current) =>
            !form.Has(field) ? current : string.IsNullOrEmpty(form.Value(field)) ? null : Count(field, current ?? 0);

        public T Choice<T>(string field, T current, (string Value, T Choice)[] choices) =>
            !form.Has(field) ? current
            : choices.FirstOrDefault(choice => choice.Value == form.Value(field)) is { Value: not null } chosen ? chosen.Choice
            : Invalid(field, current);

        /// <summary>The roles of a list-multi: every submitted value must name one; none at all is a valid choice.</summary>
        public PresenceBroadcastRoles Roles(string field, PresenceBroadcastRoles current)
        {
            if (!form.Has(field)) return current;
            var submitted = form.Values(field);
            if (submitted.Any(value => BroadcastRoleValues.All(role => role.Value != value))) return Invalid(field, current);
            return BroadcastRoleValues.Where(role => submitted.Contains(role.Value))
                .Aggregate(PresenceBroadcastRoles.Nobody, (roles, role) => roles | role.Flag);
        }

        private T Invalid<T>(string field, T current)
        {
            InvalidField ??= field;
            return current;
        }
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
                .WithChild(BroadcastRoleValues.Select(role => DataForm.Option(role.Value))),
            DataForm.Field(DefaultHistoryMessages, "text-single", "Default number of history messages returned by room",
                config.DefaultHistoryMessages?.ToString(CultureInfo.InvariantCulture) ?? ""),
            DataForm.Field(MaxUsers, "text-single", "Maximum number of occupants (empty: no limit)",
                config.MaxUsers?.ToString(CultureInfo.InvariantCulture) ?? ""),
            DataForm.Field(AllowPrivateMessages, "list-single", "Allow private messages from:",
                    PrivateMessagesValues.Single(choice => choice.From == config.AllowPrivateMessages).Value)
                .WithChild(PrivateMessagesValues.Select(choice => DataForm.Option(choice.Value))),
            DataForm.BooleanField(EnableArchiving, "Archive the discussion (XEP-0313)", config.Archived));
    }
}
