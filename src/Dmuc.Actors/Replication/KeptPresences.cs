using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The last presence of each occupant a replica host was sent (docs/protocol/dmuc.md, "Presences sent again"). Both ends keep
/// it by the same rule from the same items: the primary's link from the batches it sent, the replica from the batches it
/// applied. A presence the link sees going out again (the roster an entrant gets: each occupant's roster view is one shared
/// element until the occupant changes) then travels as its occupant's nick in one <see cref="ReplicaItem.Repeats"/> item, and
/// the replica sends its own copy: a join's roster stops being one batch item per occupant.
/// </summary>
public sealed class KeptPresences(Jid room)
{
    private readonly string _occupantPrefix = room + "/";
    private readonly Dictionary<string, Kept> _byNick = new(StringComparer.Ordinal);

    /// <param name="Entry">How the replica's roster shows it; the primary's link needs none.</param>
    public sealed record Kept(XElement Presence, RosterEntry? Entry);

    public Kept? Of(string nick) => _byNick.GetValueOrDefault(nick);

    /// <summary>
    /// What an item says of its occupant's presence: an available presence from room/nick delivered to someone is that
    /// occupant's presence from now on; an unavailable one ends it. Null for any other item (one delivered to nobody only
    /// carries an enter or leave; a <see cref="ReplicaItem.Repeats"/> item comes from the room's bare JID).
    /// </summary>
    public (string Nick, bool Available)? Announces(ReplicaItem item)
    {
        var stanza = item.Stanza;
        if (stanza.Name != Ns.Client + "presence" || item.Recipients is { Count: 0 }) return null;
        if (stanza.Attribute("from")?.Value is not { } from || from.Length == _occupantPrefix.Length
            || !from.StartsWith(_occupantPrefix, StringComparison.Ordinal))
            return null;
        return stanza.Attribute("type")?.Value switch
        {
            null => (from[_occupantPrefix.Length..], true),
            "unavailable" => (from[_occupantPrefix.Length..], false),
            _ => null,
        };
    }

    /// <summary>Takes what <paramref name="item"/> announces (<see cref="Announces"/>); <paramref name="entry"/> for the replica's roster.</summary>
    public void Take(ReplicaItem item, RosterEntry? entry = null)
    {
        if (Announces(item) is not { } announced) return;
        if (announced.Available) _byNick[announced.Nick] = new Kept(item.Stanza, entry);
        else _byNick.Remove(announced.Nick);
    }

    /// <summary>The primary's link forgets what it sent when the replica may have missed some of it (a batch withheld, a resync).</summary>
    public void Clear() => _byNick.Clear();

    /// <summary>
    /// The items as they go out: each run of presences that are, instance for instance, the kept presence of their occupant,
    /// to the same recipients, becomes one <see cref="ReplicaItem.Repeats"/> item naming the occupants in order. Changes nothing;
    /// the items that go out are then <see cref="Take"/>n, as the replica takes them.
    /// </summary>
    public IReadOnlyList<ReplicaItem> SentAgainAsNicks(IReadOnlyList<ReplicaItem> items)
    {
        if (_byNick.Count == 0) return items;
        List<ReplicaItem>? result = null;
        // The run being gathered: its nicks grow in place, as one list, and its item is made when the run ends. (An item
        // made again for each nick copied the run each time: an entrant's roster of k occupants cost k²/2 copies, the
        // primary's largest cost in a join of 1,000 over three hosts.)
        List<string>? run = null;
        IReadOnlyList<Jid>? runRecipients = null;
        for (var index = 0; index < items.Count; index++)
        {
            var item = items[index];
            var nick = RepeatedNick(item);
            if (nick is not null && run is not null && SameRecipients(runRecipients!, item.Recipients!))
            {
                run.Add(nick);
                continue;
            }
            if (run is not null) result!.Add(new ReplicaItem(RepeatCarrier(), runRecipients, Repeats: run));
            (run, runRecipients) = (null, null);
            if (nick is null)
            {
                result?.Add(item);
                continue;
            }
            result ??= [.. items.Take(index)];
            (run, runRecipients) = ([nick], item.Recipients);
        }
        if (run is not null) result!.Add(new ReplicaItem(RepeatCarrier(), runRecipients, Repeats: run));
        return result ?? items;
    }

    private static bool SameRecipients(IReadOnlyList<Jid> run, IReadOnlyList<Jid> item)
    {
        if (ReferenceEquals(run, item)) return true;
        if (run.Count != item.Count) return false;
        for (var i = 0; i < run.Count; i++)
            if (!run[i].Equals(item[i])) return false;
        return true;
    }

    /// <summary>The nick whose kept presence this item sends again unchanged, to named recipients only; null if it sends anything else.</summary>
    private string? RepeatedNick(ReplicaItem item)
    {
        if (item is not { Recipients.Count: > 0, Enter: null, Leave: null, Delay: null, Except: null, Repeats: null }) return null;
        return Announces(item) is { Available: true } announced && ReferenceEquals(_byNick.GetValueOrDefault(announced.Nick)?.Presence, item.Stanza)
            ? announced.Nick : null;
    }

    /// <summary>What a <see cref="ReplicaItem.Repeats"/> item's XML is written on: a presence from the room, which it never delivers.</summary>
    private XElement RepeatCarrier() => new(Ns.Client + "presence", new XAttribute("from", _occupantPrefix[..^1]));
}
