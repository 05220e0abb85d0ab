using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>What a replica does with a batch of the primary.</summary>
public enum BatchVerdict
{
    Apply,
    /// <summary>The link is not linked: the netjoin's resync will cover it.</summary>
    Ignore,
    /// <summary>The replica is out of step with the primary: it starts a netjoin instead.</summary>
    Resync,
}

/// <summary>
/// Whether a replica is in step with its primary (docs/protocol/netjoin.md §2–§3): the sequence conditions on batches,
/// pings and pongs, and the replica's half of a netjoin — its report, and which resync answers it. A part of
/// <see cref="ReplicaRoomState"/>, which asks it while it processes a command and hands it the netjoin's events to apply.
/// </summary>
public sealed class ReplicaSync(ReplicaRoomState state)
{
    private long _netjoins;
    private int _heldInNetjoin;
    // A part of the resync was taken and more are to come, each numbered after the last.
    private bool _resyncUnderWay;

    /// <summary>The netjoin under way, whose resync alone the replica takes; null when none is.</summary>
    public string? NetjoinId { get; private set; }

    /// <summary>How many held stanzas the latest netjoin's report carried.</summary>
    public int HeldInNetjoin => _heldInNetjoin;

    /// <summary>The service's own address has no room state to keep in step: its replies are taken as they come.</summary>
    public bool KeepsInStep => state.Room.Local is not null;

    /// <summary>What to do with a batch that answers no netjoin, and why when it is a resync.</summary>
    public (BatchVerdict Verdict, string? Why) Judge(ReplicaBatch batch, LinkState link)
    {
        if (!KeepsInStep) return (BatchVerdict.Apply, null);
        if (link != LinkState.Linked) return (BatchVerdict.Ignore, null);
        if (MustRelearn(batch.Sequence - 1, batch.UsersBeforeLink) is { } relearn) return (BatchVerdict.Resync, $"batch {batch.Sequence}: {relearn}");
        // Batches were lost (a link flapping faster than the keepalive notices): resync rather than guess.
        if (batch.Sequence > state.LastSequence + 1 && state.LastSequence != 0 && batch.Sequence != 1)
            return (BatchVerdict.Resync, $"batch {batch.Sequence} after {state.LastSequence}");
        // The batch before this one is what the primary's link had sent.
        if (PrimaryRestarted(batch.Sequence - 1))
            return (BatchVerdict.Resync, $"batch {batch.Sequence} after {state.LastSequence}: the primary's room restarted");
        return (BatchVerdict.Apply, null);
    }

    /// <summary>
    /// The primary's ping or pong says which batch it sent last, and travels behind that batch (docs/protocol/netjoin.md §2).
    /// A higher number than ours means batches were lost in a cut too short for either end to notice, with none
    /// after it to show a sequence jump; a lower one, that the primary's room restarted (§5) and no longer knows
    /// our occupants. Returns why to resync, or null.
    /// </summary>
    /// <param name="usersBeforeLink">The primary says the room has users of our host from before its link (<see cref="KeepalivePing.UsersBeforeLink"/>).</param>
    public string? OutOfStep(long? primarySentUpTo, LinkState link, bool usersBeforeLink = false)
    {
        if (!KeepsInStep || link != LinkState.Linked) return null;
        if (MustRelearn(primarySentUpTo, usersBeforeLink) is { } relearn) return relearn;
        if (primarySentUpTo is not { } sent) return null;
        if (sent > state.LastSequence && state.LastSequence != 0)
            return $"the primary sent up to batch {sent}, we applied {state.LastSequence}";
        if (PrimaryRestarted(sent))
            return $"the primary sent up to batch {sent}, fewer than our {state.LastSequence}: its room restarted";
        return null;
    }

    /// <summary>
    /// Why a replica that was never in step (its node started since) must netjoin before it takes a batch, or null (docs/protocol/netjoin.md
    /// §5): the primary's link sent this host batches before (<paramref name="primarySentBefore"/> above 0: an earlier life of this node,
    /// or the node this one took the host over from, served the host's users), or the room recovered users of this host from its journal
    /// (<paramref name="usersBeforeLink"/>: its link is new and numbers from 1, the primary's node restarted too). This replica knows none
    /// of those users: taking the batch as in step, it would keep them unknown for good (ghosts whose leave nobody forwards, and no echo
    /// of what they say). A netjoin relearns them. A first entrant's host, whose link starts with its entry, has nothing to relearn; a
    /// replica that has been in step keeps to the sequence conditions, where the primary's restart shows as a number below ours.
    /// </summary>
    public string? MustRelearn(long? primarySentBefore, bool usersBeforeLink)
    {
        if (!KeepsInStep || state.BeenInStep) return null;
        if (primarySentBefore > 0) return $"the primary sent this host batches before (up to {primarySentBefore}), and this replica knows none of their users";
        return usersBeforeLink ? "the primary's room recovered users of this host, and this replica knows none of them" : null;
    }

    /// <summary>
    /// A primary's link numbers its batches from 1 when it starts. A room that stopped while empty (passivated) has
    /// nobody of ours to forget; one that restarted with our users in it (its node crashed) must hear of them.
    /// </summary>
    private bool PrimaryRestarted(long sequence) => sequence < state.LastSequence && state.LocalOccupants.Count > 0;

    /// <summary>
    /// Our half of a netjoin: what our users did alone and what we have, in one report the primary answers with one
    /// resync. A new netjoin replaces any earlier one still unanswered.
    /// </summary>
    /// <param name="session">This life of the replica, which numbers its held stanzas.</param>
    public NetjoinStarted Netjoin(string ownHost, string session, UnacknowledgedForwards? unacknowledged) =>
        new(new ResyncReplica(state.Room, ownHost, $"netjoin-{_netjoins + 1}", state.LastSequence, state.LastStanzaId,
            state.LocalOccupants.ToDictionary(), state.Roster.Values.ToList(), state.HeldDuringSplit.ToList(), state.FirstHeldNumber,
            unacknowledged, HeldSession: session));

    /// <summary>The only place the replica's half of the netjoin changes.</summary>
    public void Apply(ReplicaRoomEvent happened)
    {
        switch (happened)
        {
            case NetjoinStarted started:
                _netjoins++;
                NetjoinId = started.Report.NetjoinId;
                _heldInNetjoin = started.Report.HeldStanzas.Count;
                _resyncUnderWay = false;
                break;
            case ResyncPartTaken { Complete: false }:
                _resyncUnderWay = true;
                break;
            case ResyncPartTaken or NetjoinAbandoned:
                NetjoinId = null;
                _resyncUnderWay = false;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(happened), happened, "not an event of a replica's netjoin");
        }
    }

    /// <summary>
    /// Whether a part answers the netjoin under way (a resync may come in several, numbered one after the other): the next part
    /// of the latest netjoin does, and the netjoin ends with the last part. Nothing else does — an older netjoin's answer, or a
    /// part after a lost one, whose netjoin then fails and is tried again.
    /// </summary>
    public bool Answers(ReplicaBatch resync, LinkState link) =>
        NetjoinId is not null && resync.ResyncOf == NetjoinId && link == LinkState.Rejoining
        && (!_resyncUnderWay || resync.Sequence == state.LastSequence + 1);

    /// <summary>The events of taking a resync's part that <see cref="Answers"/> the netjoin: the last also has the held stanzas it reported reach the primary.</summary>
    public IReadOnlyList<ReplicaRoomEvent> PartTaken(ReplicaBatch resync) => resync.More
        ? [new ResyncPartTaken(Complete: false)]
        : [new HeldStanzasReachedPrimary(_heldInNetjoin), new ResyncPartTaken(Complete: true)];
}
