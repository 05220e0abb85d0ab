using System.Globalization;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Service discovery on the room: its features and muc#roominfo form, and the reserved-nick node.</summary>
internal static class Disco
{
    private const string ReservedNickNode = "x-roomuser-item";

    public static void HandleDiscoInfo(StanzaContext ctx)
    {
        var node = ctx.Payload!.Attribute("node")?.Value;
        if (string.IsNullOrEmpty(node))
            ctx.ReplyResult(new XElement(Ns.DiscoInfo + "query", RoomInfo(ctx.Room)));
        else if (node == ReservedNickNode)
            ctx.ReplyResult(new XElement(Ns.DiscoInfo + "query", new XAttribute("node", node),
                ctx.Room.RegisteredNick(ctx.From) is { } nick ? Identity(nick) : null));
        else
            ctx.ReplyError(StanzaErrorCondition.ItemNotFound, "cancel");
    }

    /// <summary>Occupants are not listed: that would reveal who is in a room to anyone who asks.</summary>
    public static void HandleDiscoItems(StanzaContext ctx) => ctx.ReplyResult(new XElement(Ns.DiscoItems + "query"));

    public static XElement Identity(string? name) =>
        new(Ns.DiscoInfo + "identity", new XAttribute("category", "conference"), new XAttribute("type", "text"),
            name is null ? null : new XAttribute("name", name));

    public static XElement Feature(string var) => new(Ns.DiscoInfo + "feature", new XAttribute("var", var));

    private static IEnumerable<XElement> RoomInfo(RoomData room)
    {
        var config = room.Config;
        yield return Identity(config.Name);
        string[] features =
        [
            Ns.Muc.NamespaceName, "http://jabber.org/protocol/muc#stable_id", "http://jabber.org/protocol/muc#self-ping-optimization",
            Ns.Register.NamespaceName, Ns.StanzaId.NamespaceName, VoiceRequests.FormType, Ns.Ping.NamespaceName,
            Ns.DiscoInfo.NamespaceName, Ns.DiscoItems.NamespaceName,
            Retractions.Moderate.NamespaceName, Retractions.Retract.NamespaceName, Retractions.Retract.NamespaceName + "#tombstone",
            config.Persistent ? "muc_persistent" : "muc_temporary",
            config.Public ? "muc_public" : "muc_hidden",
            config.Password is null ? "muc_unsecured" : "muc_passwordprotected",
            config.MembersOnly ? "muc_membersonly" : "muc_open",
            config.Moderated ? "muc_moderated" : "muc_unmoderated",
            config.Whois == Whois.Anyone ? "muc_nonanonymous" : "muc_semianonymous",
        ];
        foreach (var feature in features) yield return Feature(feature);
        if (room.Options.OccupantIds) yield return Feature(Stanzas.OccupantId.NamespaceName);
        if (config.Archived)
        {
            yield return Feature(ArchiveQuery.Mam.NamespaceName);
            yield return Feature(ArchiveQuery.Mam.NamespaceName + "#extended");
        }
        yield return DataForm.Form("result", "http://jabber.org/protocol/muc#roominfo", null, null,
            DataForm.Field("muc#roomconfig_roomname", null, "Title", config.Name),
            DataForm.Field("muc#roominfo_description", null, "Description", config.Description ?? ""),
            DataForm.Field("muc#roominfo_lang", null, "Language", config.Language ?? ""),
            DataForm.Field("muc#roomconfig_changesubject", "boolean", null, config.ChangeSubject ? "1" : "0"),
            DataForm.Field("muc#roominfo_occupants", null, "Number of occupants", room.Occupants.Count.ToString(CultureInfo.InvariantCulture)),
            DataForm.Field("muc#roomconfig_allowinvites", "boolean", "Allow users to invite other users",
                !config.MembersOnly || config.AllowMemberInvites ? "1" : "0"));
    }
}
