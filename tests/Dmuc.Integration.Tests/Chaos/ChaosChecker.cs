namespace Dmuc.Integration.Tests.Chaos;

/// <summary>The figures of a run and what broke the rules, from <see cref="ChaosChecker.Check"/>.</summary>
public sealed record ChaosVerdict(
    IReadOnlyDictionary<FaultKind, int> FaultsInjected, int FaultCommandsFailed,
    int Sent, int Delivered, int Errored, int Lost, int UnansweredAfterStreamLoss, int UnansweredInKilledNode, int DeliveredAndErrored,
    int CopiesChecked, int MissingCopies, int Holes, int Duplicates, int OrderViolations,
    int GhostsChecked, int GhostsOverBound, TimeSpan? LongestGhost, TimeSpan GhostBound,
    int HistoriesCompared, int HistoriesDiffering, int UnechoedInHistory, int RosterGhosts, int SilentEvictions, int RemovedByRoom,
    IReadOnlyList<string> Problems)
{
    public bool Passed => Problems.Count == 0;
}

/// <summary>
/// The chaos test's rules, checked on what the clients recorded (pure: no servers, so its own tests reach it):
/// <list type="bullet">
/// <item>every fault was injected and undone as planned (a cut, a kill or a restart whose command failed did not test
/// what the run claims);</item>
/// <item>every message gets exactly one outcome at its sender: the echo or an error (lost: neither while the sender's
/// stream lived; one whose stream broke first is counted apart, since its server died with the answer, and so is one
/// nobody got whose host's Dmuc node was killed within the ghost bound after it was sent, or while the kill's command ran:
/// it died in that node);</item>
/// <item>every echoed message reaches, exactly once, every session that was in the room from its sending to the end of the
/// run; no session gets any message twice, nor a sender's later message without its earlier ones; no errored message
/// reaches anyone. Also after a Dmuc node's kill: the local topology's Prosodies load mod_dmuc_delivered, so the restarted
/// room resends each of its own host's sessions, and the restarted replica node each relearnt user, only what their server
/// did not hand them (docs/protocol/delivered.md);</item>
/// <item>messages delivered live (without XEP-0203 delay: catch-up after a split is delayed by design) come in one order
/// to every session;</item>
/// <item>a session lost with its server is seen to leave, by everyone in the room meanwhile, within the ghost bound of
/// that server's restart;</item>
/// <item>after the run, a newcomer on every host sees the same history and exactly the sessions still in.</item>
/// </list>
/// </summary>
public static class ChaosChecker
{
    /// <summary>The most problems listed by name for each rule, so one broken rule does not hide the others; the counts cover them all.</summary>
    private const int ProblemsListedPerRule = 8;

    public static ChaosVerdict Check(ChaosRecord record)
    {
        var problems = new List<string>();
        var listed = new Dictionary<string, int>();
        Action<string> ProblemOf(string rule) => text =>
        {
            var count = listed[rule] = listed.GetValueOrDefault(rule) + 1;
            if (count <= ProblemsListedPerRule) problems.Add(text);
            else if (count == ProblemsListedPerRule + 1) problems.Add($"… more: {rule} (see the counts)");
        };
        var outcomeProblem = ProblemOf("outcomes");

        var echoes = EchoTimes(record);
        var bounced = record.Bounces.GroupBy(bounce => bounce.Key).ToDictionary(group => group.Key, group => group.First());
        var sessions = record.Sessions;
        var receivedAnywhere = sessions.SelectMany(session => session.Receipts).Select(receipt => receipt.Key).ToHashSet();

        var nodeKills = record.Faults.Where(fault => fault.Planned.Kind is FaultKind.ReplicaNodeCrash or FaultKind.PrimaryNodeCrash).ToList();
        var (delivered, errored, lost, unanswered, heldByKilledNode, deliveredAndErrored) = (0, 0, 0, 0, 0, 0);
        foreach (var message in record.Sent)
        {
            var echoed = echoes.ContainsKey(message.Key);
            var error = bounced.GetValueOrDefault(message.Key);
            if (echoed) delivered++;
            if (error is not null) errored++;
            if (error is not null && (echoed || receivedAnywhere.Contains(message.Key)))
            {
                deliveredAndErrored++;
                outcomeProblem($"{message.Key}: an error ({error.Condition}) and a delivery");
            }
            if (echoed || error is not null) continue;
            var sender = sessions.Single(session => session.User == message.Sender && session.Number == message.Session);
            if (sender.End == SessionEnd.StreamLost) unanswered++;
            // Handed by its server to its host's Dmuc node, which was killed before anything came of it: nobody got it, and
            // nothing on a plain component stream (XEP-0114) tells the server what the node had taken. A server that keeps what
            // it hands until acknowledged hands it to the node's next life, so there it is lost.
            else if (!receivedAnywhere.Contains(message.Key) && record.HostsKeepingHandedStanzas?.Contains(sender.Host) != true
                     && nodeKills.Any(kill => kill.Planned.Host == sender.Host
                         && message.SentAt <= (kill.InjectedBy ?? kill.InjectedAt) && kill.InjectedAt - message.SentAt <= record.GhostBound))
                heldByKilledNode++;
            else
            {
                lost++;
                outcomeProblem($"{message.Key} (sent at {message.SentAt.TotalSeconds:0.0} s): neither echo nor error" +
                    (receivedAnywhere.Contains(message.Key) ? ", though others got it" : ""));
            }
        }

        var (copiesChecked, missing) = (0, 0);
        var stayers = sessions.Where(session => session.CoversEnd)
            .Select(session => (Session: session, Received: session.Receipts.Select(receipt => receipt.Key).ToHashSet())).ToList();
        foreach (var message in record.Sent.Where(message => echoes.ContainsKey(message.Key)))
        foreach (var (session, received) in stayers.Where(stayer => stayer.Session.JoinedAt < message.SentAt))
        {
            copiesChecked++;
            if (received.Contains(message.Key)) continue;
            missing++;
            ProblemOf("copies missing")($"{message.Key}: echoed, never reached {session.Nick} ({session.Host}), in the room since {session.JoinedAt.TotalSeconds:0.0} s");
        }

        var holes = CountHoles(record, echoes, ProblemOf("holes"));

        var duplicates = 0;
        foreach (var session in sessions)
        foreach (var copies in session.Receipts.GroupBy(receipt => receipt.Key).Where(group => group.Count() > 1))
        {
            duplicates += copies.Count() - 1;
            ProblemOf("duplicates")($"{copies.Key}: {copies.Count()} copies to {session.Nick} ({session.Host})");
        }

        var faultProblem = ProblemOf("faults");
        foreach (var fault in record.Faults.Where(fault => fault.Problem is not null))
            faultProblem($"{fault.Planned.Kind} {fault.Planned.Host} at {fault.InjectedAt.TotalSeconds:0.0} s: {fault.Problem}");

        var orderViolations = CountOrderViolations(sessions, ProblemOf("order"));
        var (ghostsChecked, ghostsOverBound, longestGhost) = CheckGhosts(record, ProblemOf("ghosts"));
        var (historiesCompared, historiesDiffering, unechoedInHistory) = CompareHistories(record, echoes, ProblemOf("histories"));
        var (rosterGhosts, silentEvictions) = CompareRosters(record, ProblemOf("rosters"));

        return new ChaosVerdict(
            record.Faults.GroupBy(fault => fault.Planned.Kind).ToDictionary(group => group.Key, group => group.Count()),
            record.Faults.Count(fault => fault.Problem is not null),
            record.Sent.Count, delivered, errored, lost, unanswered, heldByKilledNode, deliveredAndErrored, copiesChecked, missing, holes, duplicates, orderViolations,
            ghostsChecked, ghostsOverBound, longestGhost, record.GhostBound, historiesCompared, historiesDiffering, unechoedInHistory, rosterGhosts, silentEvictions,
            sessions.Count(session => session.End == SessionEnd.RemovedByRoom), problems);
    }

    /// <summary>When each message's sender first got it back.</summary>
    private static Dictionary<string, TimeSpan> EchoTimes(ChaosRecord record)
    {
        var senders = record.Sent.ToDictionary(message => message.Key, message => message.Sender);
        var echoes = new Dictionary<string, TimeSpan>();
        foreach (var session in record.Sessions)
        foreach (var receipt in session.Receipts)
        {
            if (senders.GetValueOrDefault(receipt.Key) == session.User && (!echoes.TryGetValue(receipt.Key, out var at) || receipt.At < at))
                echoes[receipt.Key] = receipt.At;
        }
        return echoes;
    }

    /// <summary>
    /// Every session, including those that did not stay to the end: once it got a sender's message, it must have every
    /// earlier message of that sender that anyone got (or that was echoed), back to the first it got. A split delays a
    /// host's messages but keeps each sender's, so a hole is a loss; this covers the sessions a server crash ended.
    /// </summary>
    private static int CountHoles(ChaosRecord record, Dictionary<string, TimeSpan> echoes, Action<string> problem)
    {
        static (string Sender, long Number) Parse(string key) => (key[..key.LastIndexOf('-')], long.Parse(key[(key.LastIndexOf('-') + 1)..]));
        var delivered = record.Sessions.SelectMany(session => session.Receipts).Select(receipt => receipt.Key).Concat(echoes.Keys)
            .Select(Parse).GroupBy(message => message.Sender).ToDictionary(group => group.Key, group => group.Select(message => message.Number).Distinct().Order().ToList());
        var holes = 0;
        foreach (var session in record.Sessions)
        foreach (var fromSender in session.Receipts.Select(receipt => Parse(receipt.Key)).GroupBy(message => message.Sender))
        {
            var got = fromSender.Select(message => message.Number).ToHashSet();
            var (first, last) = (got.Min(), got.Max());
            foreach (var number in delivered[fromSender.Key].Where(number => number > first && number < last && !got.Contains(number)))
            {
                holes++;
                problem($"{fromSender.Key}-{number}: {session.Nick} ({session.Host}) got {fromSender.Key}-{first} and -{last} but not this one");
            }
        }
        return holes;
    }

    /// <summary>
    /// For every two sessions, the messages both got live must come in the same order: walking one session's live
    /// messages, their positions in the other's must only grow; each step back is a violation.
    /// </summary>
    private static int CountOrderViolations(IReadOnlyList<RoomSession> sessions, Action<string> problem)
    {
        var live = sessions.Select(session => session.Receipts.Where(receipt => !receipt.Delayed).Select(receipt => receipt.Key).Distinct().ToList()).ToList();
        var violations = 0;
        for (var a = 0; a < sessions.Count; a++)
        {
            var positions = live[a].Select((key, index) => (key, index)).ToDictionary(pair => pair.key, pair => pair.index);
            for (var b = a + 1; b < sessions.Count; b++)
            {
                var last = -1;
                string? lastKey = null;
                foreach (var key in live[b])
                {
                    if (!positions.TryGetValue(key, out var position)) continue;
                    if (position < last)
                    {
                        violations++;
                        problem($"order: {sessions[b].Nick} got {key} after {lastKey}, {sessions[a].Nick} the other way round");
                    }
                    else
                    {
                        (last, lastKey) = (position, key);
                    }
                }
            }
        }
        return violations;
    }

    /// <summary>
    /// A session lost with its server (kill -9) left a ghost in the room: everyone in the room from the loss to the bound
    /// after the server's restart must have seen that nick leave by then. The bound is the protocol's for hosts that are up
    /// and linked: a later fault that separates the witness from the news (<see cref="Separates"/>) starts it again when
    /// that fault is undone, as the witness can learn of the leave only at the netjoin that follows (netjoin.md §3).
    /// </summary>
    private static (int Checked, int OverBound, TimeSpan? Longest) CheckGhosts(ChaosRecord record, Action<string> problem)
    {
        var (checkedGhosts, overBound) = (0, 0);
        TimeSpan? longest = null;
        foreach (var ghost in record.Sessions.Where(session => session.End == SessionEnd.StreamLost))
        {
            var lostAt = ghost.EndedAt!.Value;
            var crash = record.Faults
                .Where(fault => fault.Planned.Kind == FaultKind.ServerCrash && fault.Planned.Host == ghost.Host && fault.InjectedAt <= lostAt + TimeSpan.FromSeconds(1))
                .MaxBy(fault => fault.InjectedAt);
            var restartedAt = crash?.RecoveredAt ?? lostAt;
            var witnesses = record.Sessions
                .Where(session => session.Host != ghost.Host)
                .Select(session => (Session: session, Deadline: GhostDeadline(record, ghost.Host, session.Host, restartedAt)))
                .Where(witness => witness.Session.Spans(lostAt, witness.Deadline))
                .ToList();
            if (witnesses.Count == 0) continue;
            checkedGhosts++;
            var seen = witnesses.Select(witness => witness.Session.DeparturesSeen.TryGetValue(ghost.Nick, out var at) && at >= lostAt ? at : (TimeSpan?)null).ToList();
            var late = witnesses.Where((witness, index) => seen[index] is null || seen[index] > witness.Deadline).ToList();
            if (late.Count > 0)
            {
                overBound++;
                problem($"ghost {ghost.Nick} ({ghost.Host}, lost at {lostAt.TotalSeconds:0.0} s, server back at {restartedAt.TotalSeconds:0.0} s): " +
                    $"not seen to leave within {record.GhostBound.TotalSeconds:0} s by " +
                    string.Join(", ", late.Select(witness => witness.Deadline == restartedAt + record.GhostBound
                        ? witness.Session.Nick
                        : $"{witness.Session.Nick} (bound from {(witness.Deadline - record.GhostBound).TotalSeconds:0.0} s, after a fault between them)")));
            }
            else
            {
                var lifetime = seen.Max()!.Value - restartedAt;
                if (longest is null || lifetime > longest) longest = lifetime;
            }
        }
        return (checkedGhosts, overBound, longest);
    }

    /// <summary>
    /// When a witness on <paramref name="witnessHost"/> must have seen a ghost of <paramref name="ghostHost"/> leave, the ghost's
    /// server being back at <paramref name="from"/>: the bound after the last fault that separated them before it ran out.
    /// </summary>
    private static TimeSpan GhostDeadline(ChaosRecord record, string ghostHost, string witnessHost, TimeSpan from)
    {
        var deadline = from + record.GhostBound;
        foreach (var fault in record.Faults.Where(fault => Separates(fault.Planned, ghostHost, witnessHost)).OrderBy(fault => fault.InjectedAt))
        {
            if (fault.InjectedAt >= deadline) break;
            if (fault.RecoveredAt > from && fault.RecoveredAt + record.GhostBound > deadline) deadline = fault.RecoveredAt + record.GhostBound;
        }
        return deadline;
    }

    /// <summary>
    /// A fault that keeps a ghost's leave from a witness: the primary's node down (it decides), or the ghost's or the witness's
    /// host cut off or its node down (the leave travels from the one to the primary, then to the other), or the ghost's server
    /// down again (its node learns who is gone from it).
    /// </summary>
    private static bool Separates(Fault fault, string ghostHost, string witnessHost) => fault.Kind switch
    {
        FaultKind.PrimaryNodeCrash => true,
        FaultKind.Cut or FaultKind.ReplicaNodeCrash => fault.Host == ghostHost || fault.Host == witnessHost,
        FaultKind.ServerCrash => fault.Host == ghostHost,
        _ => false,
    };

    /// <summary>
    /// Every host's newcomer gets the same history (one missing counts as differing), made only of messages that were
    /// echoed to their senders.
    /// </summary>
    private static (int Compared, int Differing, int Unechoed) CompareHistories(ChaosRecord record, Dictionary<string, TimeSpan> echoes, Action<string> problem)
    {
        var (differing, unechoed) = (0, 0);
        var histories = new List<WitnessView>();
        foreach (var witness in record.Witnesses)
        {
            if (witness.History is null)
            {
                differing++;
                problem($"no history from {witness.Host}: {witness.Problem}");
                continue;
            }
            histories.Add(witness);
            foreach (var key in witness.History.Where(key => !echoes.ContainsKey(key)))
            {
                unechoed++;
                problem($"{witness.Host}'s history has {key}, which was never echoed to its sender");
            }
        }
        foreach (var other in histories.Skip(1).Where(other => !other.History!.SequenceEqual(histories[0].History!)))
        {
            differing++;
            problem($"history on {other.Host} differs from {histories[0].Host}'s:\n  {string.Join(" ", other.History!)}\n  {string.Join(" ", histories[0].History!)}");
        }
        return (histories.Count, differing, unechoed);
    }

    /// <summary>
    /// Each newcomer, entering one after the other, must see exactly the sessions still in and the newcomers before it:
    /// anyone more is a ghost; anyone missing was dropped without being told.
    /// </summary>
    private static (int Ghosts, int SilentEvictions) CompareRosters(ChaosRecord record, Action<string> problem)
    {
        var (ghosts, evicted) = (0, 0);
        var expected = record.Sessions.Where(session => session.CoversEnd).Select(session => session.Nick).ToHashSet();
        foreach (var witness in record.Witnesses)
        {
            if (witness.Occupants is null) continue;
            foreach (var extra in witness.Occupants.Except(expected))
            {
                ghosts++;
                problem($"{witness.Host}'s newcomer sees {extra}, who is not in the room");
            }
            foreach (var absent in expected.Except(witness.Occupants))
            {
                evicted++;
                problem($"{witness.Host}'s newcomer does not see {absent}, who was never told it left");
            }
            expected.Add(witness.Nick);
        }
        return (ghosts, evicted);
    }
}
