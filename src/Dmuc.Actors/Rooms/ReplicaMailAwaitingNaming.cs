using Akka.Actor;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// What a replica node sent the primary's directory before the cluster named that node for the host it speaks for
/// (<see cref="Replication.ClusterHosts.SpeaksFor"/>): a restarted primary hears its replicas' forwards, pings and netjoins
/// before gossip and their certificates' proof have named them, about a second after it rejoined. Refused then, a forward
/// went unanswered until the netjoin resent it, and its sender got nothing or a late error. It waits here instead, in arrival
/// order per node and host, until the node is named (and only then is it served: an unproven node never is), for at most
/// <c>longest</c>, and no more than <c>mostPerNode</c> messages of one node: past either bound it is dropped, and the directory
/// logs it. The bound is per node so that a node that is never named (one claiming a host its certificate does not name, or
/// one sending faster than it is named) cannot crowd out the mail of the others restarting with it.
/// </summary>
/// <typeparam name="T">What the directory holds: the message and what serves it.</typeparam>
public sealed class ReplicaMailAwaitingNaming<T>(TimeSpan longest, int mostPerNode)
{
    private readonly LinkedList<Held> _held = new();
    private readonly Dictionary<Address, int> _heldPerNode = [];

    public int Count => _held.Count;

    /// <summary>How many messages of <paramref name="node"/> wait.</summary>
    public int CountOf(Address node) => _heldPerNode.GetValueOrDefault(node);

    /// <summary>
    /// Whether a message of <paramref name="node"/> for <paramref name="host"/> is served now: only once the node is named, and
    /// only when nothing it sent before still waits here (which must be served first).
    /// </summary>
    public bool ServesNow(Address node, string host, bool named) => named && !_held.Any(held => held.Node == node && held.Host == host);

    /// <returns>False when <c>mostPerNode</c> messages of <paramref name="node"/> wait already: this one is dropped.</returns>
    public bool Hold(Address node, string host, T message, DateTimeOffset now)
    {
        var ofNode = CountOf(node);
        if (ofNode >= mostPerNode) return false;
        _held.AddLast(new Held(node, host, message, now));
        _heldPerNode[node] = ofNode + 1;
        return true;
    }

    /// <summary>
    /// Takes out what its node is now named for, in arrival order, and what has waited <c>longest</c> without that.
    /// </summary>
    public (IReadOnlyList<T> Named, IReadOnlyList<T> Expired) Release(Func<Address, string, bool> isNamed, DateTimeOffset now)
    {
        List<T> named = [], expired = [];
        for (var entry = _held.First; entry is not null;)
        {
            var next = entry.Next;
            var held = entry.Value;
            if (isNamed(held.Node, held.Host)) named.Add(held.Message);
            else if (now - held.Since >= longest) expired.Add(held.Message);
            else
            {
                entry = next;
                continue;
            }
            _held.Remove(entry);
            if (--_heldPerNode[held.Node] == 0) _heldPerNode.Remove(held.Node);
            entry = next;
        }
        return (named, expired);
    }

    private sealed record Held(Address Node, string Host, T Message, DateTimeOffset Since);
}
