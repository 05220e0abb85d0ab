using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>What becomes of a stanza at <see cref="RoomCreationBurst{T}.Admit"/>.</summary>
public enum CreationAdmission
{
    /// <summary>On to its room now.</summary>
    Pass,

    /// <summary>Waits for a creation under way to settle (<see cref="RoomCreationBurst{T}.Settled"/> releases it).</summary>
    Held,

    /// <summary>Too many wait already: the sender is told to try again later.</summary>
    Refused,
}

/// <summary>
/// Bounds the room creations under way on a node: handed to their new room and not yet in the journal. A burst of creations
/// (100,000 rooms created as fast as they come) started a room actor and a recovery for each at once and queued their writes
/// in the journal longer than its call timeout, which opened its circuit breaker and failed every room (docs/benchmarks.md).
/// Beyond <c>mostUnderWay</c>, the stanzas for a room being created wait here in arrival order (with the stanzas that follow
/// them to the same room), up to <c>mostWaiting</c> stanzas in all; beyond that they are refused, so memory stays bounded
/// and each stanza still has an outcome.
/// </summary>
/// <typeparam name="T">What the directory holds for a room: the message and its sender.</typeparam>
public sealed class RoomCreationBurst<T>(int mostUnderWay, int mostWaiting)
{
    private readonly HashSet<Jid> _underWay = [];
    private readonly Queue<Jid> _waitingRooms = new();
    private readonly Dictionary<Jid, List<T>> _waiting = new();
    private int _waitingStanzas;

    public int UnderWay => _underWay.Count;

    public int Waiting => _waitingStanzas;

    /// <param name="createsRoom">The stanza would create <paramref name="room"/> (the directory reserved its creation).</param>
    public CreationAdmission Admit(Jid room, T stanza, bool createsRoom)
    {
        if (_waiting.TryGetValue(room, out var held)) return Hold(held, stanza);
        if (!createsRoom) return CreationAdmission.Pass;
        if (_underWay.Count < mostUnderWay)
        {
            _underWay.Add(room);
            return CreationAdmission.Pass;
        }
        if (_waitingStanzas >= mostWaiting) return CreationAdmission.Refused;
        _waitingRooms.Enqueue(room);
        return Hold(_waiting[room] = [], stanza);
    }

    private CreationAdmission Hold(List<T> held, T stanza)
    {
        if (_waitingStanzas >= mostWaiting) return CreationAdmission.Refused;
        held.Add(stanza);
        _waitingStanzas++;
        return CreationAdmission.Held;
    }

    /// <summary>
    /// The creation of <paramref name="room"/> is written (or did not happen), or its room stopped: the rooms waiting longest
    /// take the free places, and their stanzas, in the order they came, are returned to be handed on.
    /// </summary>
    public IReadOnlyList<(Jid Room, T Stanza)> Settled(Jid room)
    {
        if (!_underWay.Remove(room)) return [];
        var released = new List<(Jid, T)>();
        while (_underWay.Count < mostUnderWay && _waitingRooms.TryDequeue(out var next))
        {
            _underWay.Add(next);
            _waiting.Remove(next, out var stanzas);
            _waitingStanzas -= stanzas!.Count;
            released.AddRange(stanzas.Select(stanza => (next, stanza)));
        }
        return released;
    }
}
