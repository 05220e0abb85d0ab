using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// What a room answers instead of processing a user's stanza while a server its output goes through is behind (over
/// <c>Dmuc:MaxQueuedBytes</c>): this node's own, or a replica host's (<see cref="HostsBehind"/>). The rule is a local user's at
/// the stream (<see cref="LoadShedding"/>: joins and messages are refused, never a leave, an error or a result), applied by the
/// room to every user's stanza, a replica's forward included: the replica admitted it against its own server only, and what a
/// join causes (its presence to every occupant, the roster to the entrant) goes out through every host with occupants. Pure.
/// </summary>
public static class RoomLoadShedding
{
    /// <summary>
    /// The refusal as the room's decision: no event, and wait/resource-constraint to the sender, which like any of the room's
    /// answers goes out through the sender's own server, or in the sender's host's batch beside a forward's acknowledgement
    /// (so the replica neither resends it nor counts it lost). Null when the room processes the command.
    /// </summary>
    public static Decision? Refusal(RoomCommand command, bool behind)
    {
        if (!behind || command is not HandleStanza { Stanza: var stanza } || LoadShedding.RefusalOf(stanza) is not { } refusal
            || !Jid.TryParse((string?)refusal.Attribute("to"), out var sender)) return null;
        // The room's answers carry no to: each delivery names its recipient.
        refusal.Attribute("to")!.Remove();
        return new Decision([], [new Delivery(sender, refusal)]);
    }
}

/// <summary>
/// The replica hosts whose servers are behind on what their nodes send their users, as their replicas of this room said
/// (<see cref="ServerBehind"/>, <see cref="ServerBehindWord"/>). A word holds for <see cref="WordHolds"/>: a replica repeats it while its
/// server stays behind, so a replica that stops saying it (its node died) does not keep the room refusing. Primary side, pure.
/// </summary>
public sealed class HostsBehind
{
    /// <summary>Four of a replica's repeats (<see cref="ServerBehindWord.Repeat"/>).</summary>
    public static readonly TimeSpan WordHolds = TimeSpan.FromSeconds(2);

    private readonly Dictionary<string, DateTimeOffset> _until = new(StringComparer.Ordinal);

    public void Heard(ServerBehind word, DateTimeOffset now)
    {
        if (word.Behind) _until[word.ReplicaHost] = now + WordHolds;
        else _until.Remove(word.ReplicaHost);
    }

    /// <summary>Whether any host's server is behind now.</summary>
    public bool Any(DateTimeOffset now) => _until.Count > 0 && _until.Values.Any(until => until > now);
}

/// <summary>
/// When a replica tells its room's primary that its server is behind (<see cref="ServerBehind"/>): as it finds it behind, again every
/// <see cref="Repeat"/> while it stays so (the primary forgets a word not repeated, <see cref="HostsBehind.WordHolds"/>), and once
/// when it has caught up. The replica looks after each batch it takes, and every <see cref="Repeat"/> while its server is behind.
/// Replica side, pure.
/// </summary>
public sealed class ServerBehindWord
{
    public static readonly TimeSpan Repeat = TimeSpan.FromMilliseconds(500);

    private DateTimeOffset? _saidAt;

    /// <summary>Whether the last word was that the server is behind: the replica looks again in <see cref="Repeat"/>.</summary>
    public bool Behind => _saidAt is not null;

    /// <returns>What to tell the primary after a look at the server; null: nothing.</returns>
    public bool? Looked(bool behind, DateTimeOffset now)
    {
        if (!behind)
        {
            if (_saidAt is null) return null;
            _saidAt = null;
            return false;
        }
        if (now - _saidAt < Repeat) return null;
        _saidAt = now;
        return true;
    }
}
