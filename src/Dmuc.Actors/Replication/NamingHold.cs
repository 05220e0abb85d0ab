using Dmuc.Actors.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// What a node's replica directory does with what its XMPP server hands it while the cluster does not name the node for its host
/// (docs/protocol/stream-ack.md §8). The primary takes nothing from a node it does not name, so such stanzas wait here, in order,
/// until this node has been named for <paramref name="namedEverywhereAfter"/> (it names itself as soon as it sees the node it took
/// over from downed, the primary a gossip round or two later), and one that waited <paramref name="longestWait"/> is answered with an
/// error, unless the server handed it again: the node's previous life may have served it its users (echoed) or the room answered
/// it, so an error now would be its second outcome (chaos seed 2026, December 6: twelve echoed messages refused 40 s later while
/// three primary restarts kept the node from being named); such a stanza waits for the naming, however long, and the server hands
/// it again should this life die first. A node already named, the usual case, holds nothing. Pure and event-shaped: <see cref="Process"/> decides and changes
/// nothing; <see cref="Apply"/> alone changes the hold.
/// </summary>
public sealed class NamingHold(TimeSpan namedEverywhereAfter, TimeSpan longestWait)
{
    private readonly List<(RouteStanza Route, DateTimeOffset Since)> _waiting = [];
    private DateTimeOffset? _namedSince;

    /// <summary>How many stanzas wait.</summary>
    public int Count => _waiting.Count;

    /// <summary>
    /// Whether a stanza for <paramref name="room"/> waits: the primary's word for that room waits behind it
    /// (<see cref="ReplicaDirectory"/>), so that what the server handed again reaches a new replica before the primary makes it
    /// relearn its users, whose resync would otherwise give them again what the node's previous life served them.
    /// </summary>
    public bool HoldsFor(Jid room) => _waiting.Exists(waiting =>
        Jid.TryParse(waiting.Route.Stanza.Attribute("to")?.Value, out var to) && to.Bare == room);

    public NamingOutcome Process(NamingCommand command) => command switch
    {
        StanzaFromOwnServer arrived when _waiting.Count == 0 && arrived.Named => new NamingOutcome(_namedSince) { PassedOn = arrived.Route },
        StanzaFromOwnServer arrived => new NamingOutcome(_namedSince)
        {
            Held = (arrived.Route, arrived.Now),
            Looking = _waiting.Count == 0 ? NamingLook.Start : NamingLook.Keep,
        },
        NamingLooked looked => Looked(looked),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a command to the naming hold"),
    };

    /// <summary>
    /// Named long enough, everything that waits goes on; whatever still waits and has waited too long is answered; with nothing left
    /// waiting, the looks stop and the naming is forgotten (the next wait starts afresh).
    /// </summary>
    private NamingOutcome Looked(NamingLooked looked)
    {
        DateTimeOffset? namedSince = looked.Named ? _namedSince ?? looked.Now : null;
        var released = looked.Now - namedSince >= namedEverywhereAfter ? _waiting.Select(waiting => waiting.Route).ToList() : [];
        var refused = released.Count > 0 ? [] : _waiting
            .Where(waiting => looked.Now - waiting.Since >= longestWait && waiting.Route.Receipt is not { Resent: true })
            .Select(waiting => waiting.Route).ToList();
        var nothingLeft = released.Count + refused.Count == _waiting.Count;
        return new NamingOutcome(nothingLeft ? null : namedSince)
        {
            Released = released,
            Refused = refused,
            Looking = nothingLeft ? NamingLook.Stop : NamingLook.Keep,
        };
    }

    /// <summary>The only place the hold changes.</summary>
    public NamingOutcome Apply(NamingOutcome outcome)
    {
        if (outcome.Released.Count > 0) _waiting.Clear();
        else if (outcome.Refused.Count > 0)
        {
            var refused = outcome.Refused.ToHashSet<RouteStanza>(ReferenceEqualityComparer.Instance);
            _waiting.RemoveAll(waiting => refused.Contains(waiting.Route));
        }
        if (outcome.Held is { } held) _waiting.Add(held);
        _namedSince = outcome.NamedSince;
        return outcome;
    }
}

/// <summary>What the naming hold is told: <paramref name="Named"/>, whether the cluster names this node for its host now.</summary>
public abstract record NamingCommand(bool Named, DateTimeOffset Now);

/// <summary>This node's server handed it a stanza.</summary>
public sealed record StanzaFromOwnServer(RouteStanza Route, bool Named, DateTimeOffset Now) : NamingCommand(Named, Now);

/// <summary>The periodic look while stanzas wait (<see cref="NamingOutcome.Looking"/>).</summary>
public sealed record NamingLooked(bool Named, DateTimeOffset Now) : NamingCommand(Named, Now);

/// <summary>Whether the directory's periodic look at the naming is to start, go on, or stop.</summary>
public enum NamingLook
{
    Keep,
    Start,
    Stop,
}

/// <summary>What one command to the naming hold decided.</summary>
/// <param name="NamedSince">Since when this node has been named, as far as the hold counts (null: not, or nothing waits).</param>
public sealed record NamingOutcome(DateTimeOffset? NamedSince)
{
    /// <summary>A stanza that goes on at once: nothing waits and this node is named.</summary>
    public RouteStanza? PassedOn { get; init; }

    /// <summary>A stanza that waits from the given time.</summary>
    public (RouteStanza Route, DateTimeOffset Since)? Held { get; init; }

    /// <summary>What waited and goes on now, in order.</summary>
    public IReadOnlyList<RouteStanza> Released { get; init; } = [];

    /// <summary>What waited too long and is answered with an error, in order (never a stanza the server handed again).</summary>
    public IReadOnlyList<RouteStanza> Refused { get; init; } = [];

    public NamingLook Looking { get; init; }

    /// <summary>What goes on to the rooms now, in order.</summary>
    public IReadOnlyList<RouteStanza> ToRoute => PassedOn is { } passed ? [passed] : Released;
}
