using System.Xml.Linq;
using Dmuc.Actors.Component;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The stream receipts (docs/protocol/stream-ack.md) of the stanzas a replica room took from its node's server, until each
/// stanza's outcome is durable: once the replica holds it nowhere (<see cref="ReplicaRoomState.Holds"/>), the primary
/// acknowledged its forward or took it in a netjoin, or the replica answered it itself (an error, a relearnt user's answer to
/// the room's ping). Given back in arrival order, as the stream acknowledges. Meanwhile, those the replica served its users
/// itself during a split are marked served at the server (stream-ack.md §8), so that a next life of the node does not serve
/// them again. Pure; used from the replica room's thread.
/// </summary>
public sealed class ReplicaStreamReceipts
{
    private readonly Queue<(XElement Stanza, StreamReceipt Receipt)> _waiting = new();
    private readonly Dictionary<XElement, StreamReceipt> _byStanza = new(ReferenceEqualityComparer.Instance);

    public int Count => _waiting.Count;

    /// <summary>Tracks the receipt of a stanza the replica is about to take (the very element it hands its state).</summary>
    public void Arrived(XElement stanza, StreamReceipt receipt)
    {
        _waiting.Enqueue((stanza, receipt));
        _byStanza[stanza] = receipt;
    }

    /// <summary>The receipts to settle now: the oldest ones whose stanza <paramref name="holds"/> no longer says is held.</summary>
    public IReadOnlyList<StreamReceipt> NoLongerHeld(Func<XElement, bool> holds)
    {
        List<StreamReceipt>? settled = null;
        while (_waiting.TryPeek(out var oldest) && !holds(oldest.Stanza))
        {
            _waiting.Dequeue();
            _byStanza.Remove(oldest.Stanza);
            (settled ??= []).Add(oldest.Receipt);
        }
        return settled ?? (IReadOnlyList<StreamReceipt>)[];
    }

    /// <summary>The receipts of <paramref name="stanzas"/> (these elements) that wait, to mark served (<see cref="StreamReceipt.MarkServed"/>).</summary>
    public IReadOnlyList<StreamReceipt> Of(IEnumerable<XElement> stanzas) =>
        [.. stanzas.Select(stanza => _byStanza.GetValueOrDefault(stanza)).OfType<StreamReceipt>()];
}
