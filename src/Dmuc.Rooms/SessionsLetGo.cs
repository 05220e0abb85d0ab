using System.Collections.Immutable;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// The sessions the room let go without their word (<see cref="SessionLetGo"/>: their host had no node, or their server said they
/// were gone), each with its nick and from when its host's replica knows it is out (told at the host's netjoin,
/// <see cref="LetGoTold"/>; at once when its server said so). Until then that replica may have served its messages in the room,
/// and they reach the room at a later netjoin: the room takes them as that occupant's (<see cref="SpokenFor"/>, docs/protocol/netjoin.md
/// §5). One told is kept <see cref="RecentDepartures.KeptFor"/> after; one not told yet until its host's netjoin tells it.
/// Rebuilt from the journal and kept in snapshots, so a primary restarted in between still takes them. Immutable: the room's
/// copies share it.
/// </summary>
public sealed class SessionsLetGo
{
    public static readonly SessionsLetGo None = new(ImmutableDictionary<Jid, LetGoSession>.Empty);

    private readonly ImmutableDictionary<Jid, LetGoSession> _sessions;

    private SessionsLetGo(ImmutableDictionary<Jid, LetGoSession> sessions) => _sessions = sessions;

    public static SessionsLetGo Of(IEnumerable<LetGoSession> sessions) => new(sessions.ToImmutableDictionary(session => session.RealJid));

    /// <summary>By real JID, as a snapshot keeps them.</summary>
    public IEnumerable<LetGoSession> All => _sessions.Values.OrderBy(session => session.RealJid.ToString(), StringComparer.Ordinal);

    public SessionsLetGo LetGo(SessionLetGo letGo) =>
        new(Pruned(letGo.At).SetItem(letGo.RealJid, new LetGoSession(letGo.Nick, letGo.RealJid, letGo.Told ? letGo.At : null)));

    /// <summary>Those of <paramref name="host"/> not told yet, which its netjoin tells (real JID → nick).</summary>
    public IReadOnlyDictionary<Jid, string> NotToldOf(string host) =>
        _sessions.Values.Where(session => session.ToldAt is null && session.RealJid.Domain == host).ToDictionary(session => session.RealJid, session => session.Nick);

    public SessionsLetGo Told(LetGoTold told) =>
        new(Pruned(told.At).SetItems(NotToldOf(told.Host).Keys.Select(jid => KeyValuePair.Create(jid, _sessions[jid] with { ToldAt = told.At }))));

    /// <summary>
    /// The nick under which the room takes a held stanza of <paramref name="sender"/>, served by its replica at
    /// <paramref name="servedAt"/>: the one the sender had, if the room let the sender go without their word and their host's
    /// replica could still take them for an occupant then (not told yet, or told after). The replica served the message in the
    /// room, so it is theirs. Null otherwise: a sender the room still has speaks for itself, and one who was not in the room
    /// when served (kicked, say) is refused as any non-occupant.
    /// </summary>
    public string? SpokenFor(Jid sender, DateTimeOffset servedAt) =>
        _sessions.TryGetValue(sender, out var letGo) && (letGo.ToldAt is not { } told || servedAt <= told) ? letGo.Nick : null;

    private ImmutableDictionary<Jid, LetGoSession> Pruned(DateTimeOffset now) =>
        _sessions.RemoveRange(_sessions.Values.Where(session => session.ToldAt < now - RecentDepartures.KeptFor).Select(session => session.RealJid));
}

/// <summary>A session the room let go without its word (<see cref="SessionsLetGo"/>).</summary>
/// <param name="ToldAt">From when its host's replica knows it is out; null: not told yet.</param>
public sealed record LetGoSession(string Nick, Jid RealJid, DateTimeOffset? ToldAt);
