using Dmuc.Rooms;

namespace Dmuc.Actors.Component;

/// <summary>
/// Where rooms hand the stanzas they send. Implementations are thread-safe and never block: rooms call it
/// from their own actor threads so that rendering a broadcast happens in parallel across rooms.
/// </summary>
public interface IStanzaSink
{
    void Send(IReadOnlyList<Delivery> deliveries);

    /// <summary>
    /// Whether this node's server is not keeping up with what the node sends (its queue is over <c>Dmuc:MaxQueuedBytes</c>):
    /// a room then refuses users' joins and messages (<see cref="Dmuc.Actors.Replication.RoomLoadShedding"/>), and a replica tells
    /// its room's primary (<see cref="Dmuc.Actors.Replication.ServerBehindWord"/>). <paramref name="decidedNotSentBytes"/>
    /// (<see cref="BytesToSend"/>) that the caller has decided but not handed over yet (they wait for the journal) count as
    /// already queued. A sink that never falls behind is never behind.
    /// </summary>
    bool ServerBehind(long decidedNotSentBytes = 0) => false;

    /// <summary>What <paramref name="deliveries"/> will add to the sink's queue once sent.</summary>
    long BytesToSend(IReadOnlyList<Delivery> deliveries) => 0;

    /// <summary>
    /// Completes with true once everything sent through this sink so far has been written to the server's stream; false if
    /// that cannot be told (there is no stream now, or it ended first). A replica's receipts wait for it
    /// (<see cref="Dmuc.Actors.Replication.DeliveryReceipt"/>). A sink that writes at once says true at once.
    /// </summary>
    Task<bool> AllWritten() => Task.FromResult(true);

    /// <summary>
    /// What this node's server last handed each session of <paramref name="room"/> (docs/protocol/delivered.md), asked once a
    /// room recovers after a crash; null when the server cannot say (it has no such module, there was no stream within
    /// <paramref name="timeout"/>, the stanzas go through another node's stream).
    /// </summary>
    Task<LastDelivered?> LastDelivered(Dmuc.Xmpp.Jid room, TimeSpan timeout) => Task.FromResult<LastDelivered?>(null);
}
