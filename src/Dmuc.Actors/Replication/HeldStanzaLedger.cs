using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The primary's record, per replica host, of what came of that host's stanzas that its users may not have heard the
/// outcome of (docs/protocol/netjoin.md §3), so that a netjoin's resync can tell them, once:
/// <list type="bullet">
/// <item>the stanzas the host <b>held</b> through a split and the room processed in a netjoin: which must not be processed
/// again, the errors the room answered with, and the messages the host's users already saw during the split. Kept until
/// the replica's report shows it applied a resync that carried them (its first held number moved past them);</item>
/// <item>the host's <b>forwards</b> (acknowledged forwards, §2): what each brought the host's users that a resync would not
/// bring again (errors, IQ results, private messages, messages the room keeps no history of). Kept until the replica
/// shows it has the acknowledgement, which travelled in the batch that carried this outcome (its next forward's
/// <c>acked</c>, or its report's first unacknowledged number). A forward whose batch was lost in a cut is reported
/// unacknowledged again, and its outcome goes in the resync.</item>
/// </list>
/// A lost resync therefore loses nothing. Pure.
/// </summary>
public sealed class HeldStanzaLedger
{
    private readonly Dictionary<string, HostRecord> _hosts = new();

    /// <summary>
    /// The held stanzas of <paramref name="report"/> the room has not processed yet, with their numbers; forgets the
    /// outcomes the replica no longer needs (it applied the resync, or the acknowledgement, that carried them).
    /// </summary>
    public IReadOnlyList<(long Number, HeldStanza Held)> ToProcess(ResyncReplica report)
    {
        var record = RecordOf(report.ReplicaHost);
        if (record.HeldSession != report.HeldSession)
        {
            // Another life of the replica, which numbers its held stanzas from 1 again: the last life's count is not its.
            record.HeldSession = report.HeldSession;
            record.ProcessedUpTo = 0;
            record.Outcomes.Clear();
        }
        record.Outcomes.RemoveAll(outcome => outcome.Number < report.FirstHeldNumber);
        if (report.Unacknowledged is { } unacked) ForwardsAcknowledged(report.ReplicaHost, unacked.Session, unacked.First - 1);
        else record.Forwards.Clear();
        return report.HeldStanzas.Select((held, index) => (Number: report.FirstHeldNumber + index, Held: held))
            .Where(held => held.Number > record.ProcessedUpTo).ToList();
    }

    /// <summary>The room processed held stanza <paramref name="number"/> of <paramref name="host"/> and decided <paramref name="decision"/>.</summary>
    public void Processed(string host, long number, Decision decision)
    {
        var record = RecordOf(host);
        record.ProcessedUpTo = Math.Max(record.ProcessedUpTo, number);
        var answers = decision.Deliveries.Where(delivery => delivery.To.Domain == host && delivery.Stanza.Attribute("type")?.Value == "error").ToList();
        var kept = decision.Events.OfType<HistoryMessageAdded>().Select(added => added.Entry.StanzaId).ToList();
        record.Outcomes.Add((number, answers, kept));
    }

    /// <summary>
    /// The room processed forward <paramref name="number"/> of <paramref name="host"/>'s session <paramref name="session"/>:
    /// keeps what of it a resync would not bring the host's users again (not the occupants' presence, which the resync
    /// compares, nor messages kept in the history, which it replays, nor the rest of an entry: a session whose entry
    /// the replica never applied is a missed entry to the resync, which sends it the whole entry in order).
    /// </summary>
    public void ForwardProcessed(string host, string session, long number, Decision decision, Jid room)
    {
        var record = RecordOf(host);
        if (record.ForwardSession != session)
        {
            record.ForwardSession = session;
            record.Forwards.Clear();
        }
        var kept = decision.Events.OfType<HistoryMessageAdded>().Select(added => added.Entry.StanzaId).ToHashSet();
        var entered = decision.Events.OfType<OccupantSessionUpdated>().Select(updated => updated.RealJid).ToHashSet();
        var answers = decision.Deliveries.Where(delivery => delivery.To.Domain == host
            && !CoveredByResync(delivery.Stanza, kept, room) && !(entered.Contains(delivery.To) && IsPartOfEntry(delivery.Stanza, room))).ToList();
        if (answers.Count > 0) record.Forwards.Add((number, answers));
    }

    /// <summary>The replica has the acknowledgement of its forwards up to <paramref name="upTo"/>, and so their outcome.</summary>
    public void ForwardsAcknowledged(string host, string session, long upTo)
    {
        var record = RecordOf(host);
        if (record.ForwardSession != session)
        {
            record.ForwardSession = session;
            record.Forwards.Clear();
        }
        record.Forwards.RemoveAll(forward => forward.Number <= upTo);
    }

    /// <summary>What the next resync to <paramref name="host"/> must carry or leave out because of its forwards and held stanzas.</summary>
    public HeldOutcome OutcomeFor(string host)
    {
        var record = RecordOf(host);
        return new HeldOutcome(record.Outcomes.SelectMany(outcome => outcome.Kept).ToHashSet(),
            [.. record.Forwards.SelectMany(forward => forward.Answers), .. record.Outcomes.SelectMany(outcome => outcome.Answers)]);
    }

    private static bool CoveredByResync(XElement stanza, IReadOnlySet<string> kept, Jid room) =>
        (stanza.Name == Ns.Client + "presence" && stanza.Attribute("type")?.Value != "error")
        || (stanza.Name == Ns.Client + "message" && ReplicaRoomState.StanzaIdOf(stanza, room) is { } id && kept.Contains(id));

    /// <summary>What a room sends an entering session after the presences: its history, replayed (delayed by the room), and the subject.</summary>
    private static bool IsPartOfEntry(XElement stanza, Jid room) =>
        stanza.Name == Ns.Client + "message" && stanza.Attribute("type")?.Value != "error"
        && (stanza.Elements(Ns.Delay + "delay").Any(delay => delay.Attribute("from")?.Value == room.ToString())
            || stanza.Element(Ns.Client + "subject") is not null && stanza.Element(Ns.Client + "body") is null);

    private HostRecord RecordOf(string host) => _hosts.TryGetValue(host, out var record) ? record : _hosts[host] = new HostRecord();

    private sealed class HostRecord
    {
        public string? HeldSession { get; set; }
        public long ProcessedUpTo { get; set; }
        public List<(long Number, List<Delivery> Answers, List<string> Kept)> Outcomes { get; } = [];
        public string? ForwardSession { get; set; }
        public List<(long Number, List<Delivery> Answers)> Forwards { get; } = [];
    }
}

/// <summary>What a replica host's forwards and held stanzas came to, for its resync.</summary>
/// <param name="SeenLocally">The XEP-0359 ids the room gave the messages the host's users already saw during the split.</param>
/// <param name="Answers">What the room answered the host's users that they have not had: its replies to forwards whose
/// batch they never got, and its error replies to held stanzas it refused.</param>
public sealed record HeldOutcome(IReadOnlySet<string> SeenLocally, IReadOnlyList<Delivery> Answers)
{
    public static readonly HeldOutcome None = new(new HashSet<string>(), []);
}
