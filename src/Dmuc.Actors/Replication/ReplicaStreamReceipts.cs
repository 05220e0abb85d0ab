using System.Xml.Linq;
using Dmuc.Actors.Component;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The stream receipts (docs/protocol/stream-ack.md) of the stanzas a replica room took from its node's server, until each
/// stanza's outcome is durable: once the replica holds it nowhere (<see cref="ReplicaRoomState.Holds"/>), the primary
/// acknowledged its forward or took it in a netjoin, or the replica answered it itself (an error, a relearnt user's answer to
/// the room's ping). Given back in arrival order, as the stream acknowledges. It also knows which stanzas the server handed
/// again after a stream that may have processed them, so that their forward says so (the primary's room drops what it had
/// processed, <c>Dmuc.Rooms.Resends</c>). Pure; used from the replica room's thread.
/// </summary>
public sealed class ReplicaStreamReceipts
{
    private readonly Queue<(XElement Stanza, StreamReceipt Receipt)> _waiting = new();
    private readonly HashSet<XElement> _resent = new(ReferenceEqualityComparer.Instance);

    public int Count => _waiting.Count;

    /// <summary>Tracks the receipt of a stanza the replica is about to take (the very element it hands its state).</summary>
    public void Arrived(XElement stanza, StreamReceipt receipt)
    {
        _waiting.Enqueue((stanza, receipt));
        if (receipt.Resent) _resent.Add(stanza);
    }

    /// <summary>Whether the server handed <paramref name="stanza"/> again (this element, not an equal one).</summary>
    public bool IsResent(XElement stanza) => _resent.Contains(stanza);

    /// <summary>The receipts to settle now: the oldest ones whose stanza <paramref name="holds"/> no longer says is held.</summary>
    public IReadOnlyList<StreamReceipt> NoLongerHeld(Func<XElement, bool> holds)
    {
        List<StreamReceipt>? settled = null;
        while (_waiting.TryPeek(out var oldest) && !holds(oldest.Stanza))
        {
            _waiting.Dequeue();
            _resent.Remove(oldest.Stanza);
            (settled ??= []).Add(oldest.Receipt);
        }
        return settled ?? (IReadOnlyList<StreamReceipt>)[];
    }
}
