using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Infrastructure;

/// <summary>A room's roster as one user knows it: built from the occupant presences the user received, in order.</summary>
public static class RosterView
{
    /// <summary>
    /// Nick → how the occupant was last announced to the user; a nick is gone after its unavailable presence, and
    /// everyone is gone after the user's own (status 110): a user who enters again is sent the whole roster afresh.
    /// </summary>
    public static SortedDictionary<string, RosterEntry> Of(IEnumerable<XElement> received, Jid room)
    {
        var roster = new SortedDictionary<string, RosterEntry>(StringComparer.Ordinal);
        foreach (var stanza in received) Apply(roster, stanza, room);
        return roster;
    }

    /// <summary>Updates <paramref name="roster"/> with one received stanza; anything but an occupant presence of the room changes nothing.</summary>
    public static void Apply(IDictionary<string, RosterEntry> roster, XElement stanza, Jid room)
    {
        if (stanza.Name != Ns.Client + "presence") return;
        if (!Jid.TryParse(stanza.Attribute("from")?.Value, out var from) || from.Bare != room || from.Resource is not { } nick)
            return;
        if (stanza.Attribute("type")?.Value == "unavailable")
        {
            if (stanza.HasStatus(110)) roster.Clear();
            else roster.Remove(nick);
        }
        else if (RosterEntry.FromPresence(stanza, room) is { } entry) roster[nick] = entry;
    }
}
