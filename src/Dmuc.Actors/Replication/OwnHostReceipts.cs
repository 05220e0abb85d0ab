namespace Dmuc.Actors.Replication;

/// <summary>
/// When the room checks what its own node's server was handed (docs/protocol/netjoin.md §5, the own host's receipt): a room
/// writes a message to its journal and only then hands it to its sink, so a crash between the two leaves a message no user
/// of this node's server got. Like a replica's receipt, the check waits until the sink's stream took everything handed to
/// it (<see cref="Component.IStanzaSink.AllWritten"/>); one check at a time, and the newest message handed over meanwhile
/// is checked next, so a busy room checks about once a write round trip. A part of <see cref="PrimaryRoom"/>.
/// </summary>
public sealed class OwnHostReceipts
{
    // The newest kept message handed to the sink while a check was under way: the next check's.
    private string? _waiting;
    private bool _checking;
    // The newest kept message handed over so far: a decision after it that keeps none (a presence) has nothing new to check.
    private string? _handedOver;

    /// <summary>
    /// Everything up to the kept message <paramref name="stanzaId"/> went to the sink for this node's server: its id if it is to
    /// be checked now, null if it is not new or a check is under way (it waits for that one).
    /// </summary>
    public string? HandedOver(string stanzaId)
    {
        if (stanzaId == _handedOver) return null;
        _handedOver = stanzaId;
        if (_checking)
        {
            _waiting = stanzaId;
            return null;
        }
        _checking = true;
        return stanzaId;
    }

    /// <summary>A check ended, written or not: the newest message handed over since, to check next, if any.</summary>
    public string? CheckEnded()
    {
        var next = _waiting;
        _waiting = null;
        _checking = next is not null;
        return next;
    }
}
