using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// XEP-0313 on the room: who may read its archive, and which query to run. The archive itself is a view of the
/// room's journal, read outside the room (<see cref="ArchiveIndex"/>); the room only decides.
/// </summary>
internal static class Archive
{
    public static void HandleQuery(StanzaContext ctx)
    {
        var room = ctx.Room;
        if (!room.Config.Archived)
        {
            ctx.ReplyError(StanzaErrorCondition.FeatureNotImplemented, "cancel", "This room is not archived");
            return;
        }
        if (!MayRead(room, ctx.From))
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth", "Only those who may enter this room may read its archive");
            return;
        }
        if (ctx.Type == "get")
        {
            ctx.ReplyResult(new XElement(ArchiveQuery.Mam + "query", ArchiveQuery.SupportedFields()));
            return;
        }
        var (query, problem, why) = ArchiveQuery.Read(room.RoomJid, ctx.From, ctx.Stanza);
        if (query is null) ctx.ReplyError(problem, problem.DefaultType(), why);
        else ctx.ReadArchive(query);
    }

    /// <summary>
    /// The archive's reader found messages that retention expired beyond what the room recorded: from now on the history
    /// shows them no more, and the journal may let go of their events.
    /// </summary>
    public static void Expire(RoomContext ctx, ExpireArchivedMessages expire)
    {
        if (ctx.Room.Exists && expire.ThroughSequenceNr > ctx.Room.ArchiveExpiredThrough)
            ctx.Emit(new ArchivedMessagesExpired(expire.ThroughSequenceNr, expire.ThroughStanzaId));
    }

    /// <summary>Those the room would let in without a password, and its occupants; never outcasts.</summary>
    private static bool MayRead(RoomData room, Jid user)
    {
        var affiliation = room.AffiliationOf(user);
        if (affiliation == Affiliation.Outcast) return false;
        if (room.OccupantByRealJid(user) is not null || affiliation >= Affiliation.Member) return true;
        return !room.Config.MembersOnly && room.Config.Password is null;
    }
}
