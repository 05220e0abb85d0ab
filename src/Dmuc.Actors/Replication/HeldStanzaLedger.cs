using Dmuc.Rooms;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The primary's record, per replica host, of the stanzas that host held through a split and the room processed
/// in a netjoin (docs/protocol/netjoin.md §3): which must not be processed again, and what came of them that the
/// host's users still need to be told or spared in the resync — the errors the room answered with, and the
/// messages they already saw during the split. An outcome is kept until the replica's report shows it applied a
/// resync that carried it (its first held number moved past it), so a lost resync loses nothing. Pure.
/// </summary>
public sealed class HeldStanzaLedger
{
    private readonly Dictionary<string, HostRecord> _hosts = new();

    /// <summary>
    /// The held stanzas of <paramref name="report"/> the room has not processed yet, with their numbers; forgets
    /// the outcomes of those the replica no longer holds (it applied the resync that carried them).
    /// </summary>
    public IReadOnlyList<(long Number, HeldStanza Held)> ToProcess(ResyncReplica report)
    {
        var record = RecordOf(report.ReplicaHost);
        record.Outcomes.RemoveAll(outcome => outcome.Number < report.FirstHeldNumber);
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

    /// <summary>What the next resync to <paramref name="host"/> must carry or leave out because of its held stanzas.</summary>
    public HeldOutcome OutcomeFor(string host)
    {
        var record = RecordOf(host);
        return new HeldOutcome(record.Outcomes.SelectMany(outcome => outcome.Kept).ToHashSet(),
            record.Outcomes.SelectMany(outcome => outcome.Answers).ToList());
    }

    private HostRecord RecordOf(string host) => _hosts.TryGetValue(host, out var record) ? record : _hosts[host] = new HostRecord();

    private sealed class HostRecord
    {
        public long ProcessedUpTo { get; set; }
        public List<(long Number, List<Delivery> Answers, List<string> Kept)> Outcomes { get; } = [];
    }
}

/// <summary>What a replica host's held stanzas came to, for its resync.</summary>
/// <param name="SeenLocally">The XEP-0359 ids the room gave the messages the host's users already saw during the split.</param>
/// <param name="Answers">The room's error replies to held stanzas it refused, for the host's users.</param>
public sealed record HeldOutcome(IReadOnlySet<string> SeenLocally, IReadOnlyList<Delivery> Answers)
{
    public static readonly HeldOutcome None = new(new HashSet<string>(), []);
}
