using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// Gathers deliveries, in the order they were decided, into groups of one stanza and its recipients, so that a stanza
/// sent to many goes out once (a multicast, a replica batch's item). A delivery joins the latest group of an equal
/// stanza only when its recipient has nothing in that group or after it, so every recipient gets its stanzas in the
/// order they were decided; otherwise it starts a group of its own. What counts as equal is the caller's: the same
/// instance (one decision's broadcast), or the same bytes (the roster presence of one occupant to the entrants of
/// consecutive joins). Stanzas that differ for different recipients (a moderator's view with real JIDs, a
/// participant's without) are never equal, so never merged.
/// </summary>
public sealed class RecipientOrderMerge<TStanza>(IEqualityComparer<TStanza> equal) where TStanza : notnull
{
    private readonly List<Group> _groups = [];
    private readonly Dictionary<TStanza, int> _latestGroupOf = new(equal);
    private readonly Dictionary<Jid, int> _lastGroupReaching = [];

    /// <summary>A stanza and everyone it goes to, in the order they were added.</summary>
    public sealed record Group(TStanza Stanza, List<Jid> Recipients);

    /// <summary>The groups in the order to send them.</summary>
    public IReadOnlyList<Group> Groups => _groups;

    public void Add(TStanza stanza, Jid to)
    {
        var reached = _lastGroupReaching.GetValueOrDefault(to, -1);
        if (_latestGroupOf.TryGetValue(stanza, out var index) && reached < index)
        {
            _groups[index].Recipients.Add(to);
        }
        else
        {
            index = _groups.Count;
            _groups.Add(new Group(stanza, [to]));
            _latestGroupOf[stanza] = index;
        }
        _lastGroupReaching[to] = index;
    }
}
