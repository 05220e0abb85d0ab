using Dmuc.Rooms;

namespace Dmuc.Actors.Component;

/// <summary>
/// Where rooms hand the stanzas they send. Implementations are thread-safe and never block: rooms call it
/// from their own actor threads so that rendering a broadcast happens in parallel across rooms.
/// </summary>
public interface IStanzaSink
{
    void Send(IReadOnlyList<Delivery> deliveries);
}
