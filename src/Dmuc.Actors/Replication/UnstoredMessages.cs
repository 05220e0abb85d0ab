using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The messages of one replica host's link that asked not to be stored (XEP-0334 no-store or no-permanent-store) and that
/// the host's users may have missed in a split: those of batches withheld while it was split, and of batches sent into a
/// cut before either end noticed. A netjoin replays only the room's history, which such a message is not in, and the
/// hint forbids keeping it for later delivery; the host's users are told how many they missed instead
/// (docs/protocol/netjoin.md §3). Pure: the link's state tells it what it sent and withheld.
/// </summary>
public sealed class UnstoredMessages
{
    /// <summary>What the users are told, with the count in front.</summary>
    public const string MissedText =
        "message(s) sent while this host was split from the room asked not to be stored (XEP-0334 no-store), so the room could not " +
        "bring them here afterwards.";

    /// <summary>Batches kept track of until a netjoin tells which the replica applied: beyond, the oldest are taken as applied.</summary>
    private const int TrackedBatches = 1000;

    private readonly Queue<(long Sequence, int Count)> _sent = new();
    private int _withheld;

    /// <summary>Batch <paramref name="sequence"/> went out with <paramref name="items"/>.</summary>
    public void Sent(long sequence, IReadOnlyList<ReplicaItem> items)
    {
        var count = items.Count(IsUnstoredMessage);
        if (count == 0) return;
        _sent.Enqueue((sequence, count));
        if (_sent.Count > TrackedBatches) _sent.Dequeue();
    }

    /// <summary>A batch with <paramref name="items"/> was withheld: the link is split.</summary>
    public void Withheld(IReadOnlyList<ReplicaItem> items) => _withheld += items.Count(IsUnstoredMessage);

    /// <summary>
    /// For a netjoin's resync to a replica that applied batches up to <paramref name="replicaApplied"/>: the notice for what it
    /// missed, if anything, to end the resync with. Once the resync went out, the count starts again (<see cref="Forget"/>).
    /// </summary>
    public ReplicaItem? NoticeOfMissed(Jid room, long replicaApplied)
    {
        var missed = _withheld + _sent.Where(batch => batch.Sequence > replicaApplied).Sum(batch => batch.Count);
        if (missed == 0) return null;
        return new ReplicaItem(new XElement(Ns.Client + "message", new XAttribute("from", room.ToString()), new XAttribute("type", "groupchat"),
            new XElement(Ns.Client + "body", $"{missed} {MissedText}")), Recipients: null);
    }

    /// <summary>A netjoin's resync told the replica what it missed: the count starts again.</summary>
    public void Forget()
    {
        _withheld = 0;
        _sent.Clear();
    }

    /// <summary>An occupant's groupchat message with a body that the room kept out of its history because it asked to be.</summary>
    private static bool IsUnstoredMessage(ReplicaItem item) =>
        item.Stanza.Name == Ns.Client + "message" && item.Stanza.Attribute("type")?.Value == "groupchat"
        && item.Stanza.Element(Ns.Client + "body") is not null
        && Jid.TryParse(item.Stanza.Attribute("from")?.Value, out var from) && from.Resource is not null
        && !Dmuc.Rooms.History.IsHistoric(item.Stanza);
}
