using System.Collections.Immutable;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>One client session inside an occupant; <see cref="Presence"/> is shared and never modified.</summary>
internal sealed record OccupantSession(Jid RealJid, XElement Presence)
{
    public bool IsUnavailable => Presence.Attribute("type")?.Value == "unavailable";
}

/// <summary>
/// Someone in the room under <see cref="Nick"/>. Several sessions (resources) of one bare JID may share a nick;
/// the first session is the primary one, whose presence the other occupants see.
/// </summary>
/// <param name="Entered">How many occupants had entered the room before this one (<see cref="RoomData.OccupantsByEntry"/>).</param>
internal sealed record Occupant(string Nick, Jid BareJid, Role Role, ImmutableList<OccupantSession> Sessions, long Entered)
{
    public OccupantSession Primary => Sessions[0];

    public bool HasSession(Jid realJid) => Sessions.Any(session => session.RealJid == realJid);

    public Occupant WithSession(OccupantSession session)
    {
        var index = Sessions.FindIndex(existing => existing.RealJid == session.RealJid);
        return this with { Sessions = index < 0 ? Sessions.Add(session) : Sessions.SetItem(index, session) };
    }

    public Occupant WithoutSession(Jid realJid) =>
        this with { Sessions = Sessions.RemoveAll(session => session.RealJid == realJid) };
}
