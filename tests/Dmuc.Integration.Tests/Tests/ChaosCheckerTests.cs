using Dmuc.Integration.Tests.Chaos;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>The chaos test's checker and schedule on records made by hand: each rule fails when it is broken, and only then.</summary>
public sealed class ChaosCheckerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(25);

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static RoomSession Session(string user, string host, double joinedAt, IEnumerable<Receipt> receipts, double? endedAt = null,
        SessionEnd end = SessionEnd.StillIn, int number = 1, Dictionary<string, TimeSpan>? departures = null) =>
        new(user, host, $"{user}.{number}", number, S(joinedAt), endedAt is null ? null : S(endedAt.Value), end, null, receipts.ToList(),
            departures ?? []);

    private static IEnumerable<Receipt> Live(params string[] keys) => keys.Select((key, index) => new Receipt(key, false, S(10 + index)));

    private static SentMessage Sent(string key, double at = 5) => new(key, key.Split('-')[0], 1, S(at));

    private static ChaosRecord Record(IReadOnlyList<SentMessage> sent, IReadOnlyList<RoomSession> sessions, IReadOnlyList<Bounce>? bounces = null,
        IReadOnlyList<InjectedFault>? faults = null, IReadOnlyList<WitnessView>? witnesses = null) =>
        new(sent, bounces ?? [], sessions, faults ?? [], witnesses ?? [], Bound);

    /// <summary>alice (avalon) and argl (killrc) each said one thing, and both got both, in the same order.</summary>
    private static ChaosRecord CleanRun() => Record(
        [Sent("alice-1"), Sent("argl-1")],
        [Session("alice", "avalon.irc", 0, Live("alice-1", "argl-1")), Session("argl", "killrc.oulubox.irc", 0, Live("alice-1", "argl-1"))]);

    [Fact]
    public void A_run_where_everyone_got_everything_once_in_one_order_passes()
    {
        var verdict = ChaosChecker.Check(CleanRun());

        Assert.True(verdict.Passed, string.Join("\n", verdict.Problems));
        Assert.Equal((2, 2, 0, 4), (verdict.Sent, verdict.Delivered, verdict.Lost, verdict.CopiesChecked));
    }

    [Fact]
    public void An_echoed_message_missing_at_an_occupant_who_stayed_fails_but_not_at_one_who_entered_after_it()
    {
        var record = CleanRun() with
        {
            Sessions =
            [
                Session("alice", "avalon.irc", 0, Live("alice-1", "argl-1")),
                Session("argl", "killrc.oulubox.irc", 0, Live("argl-1")),
                Session("squit", "eris.dclxvii.irc", 6, Live("argl-1")) // entered after alice-1 was sent
            ],
        };

        var verdict = ChaosChecker.Check(record);

        Assert.False(verdict.Passed);
        Assert.Equal(1, verdict.MissingCopies);
        Assert.Contains(verdict.Problems, problem => problem.Contains("alice-1") && problem.Contains("argl.1"));
    }

    [Fact]
    public void A_message_without_echo_or_error_is_lost_unless_the_senders_server_died_first()
    {
        var lost = ChaosChecker.Check(CleanRun() with { Sent = [Sent("alice-1"), Sent("argl-1"), Sent("alice-2")] });
        Assert.Equal(1, lost.Lost);
        Assert.False(lost.Passed);

        var unanswered = ChaosChecker.Check(Record([Sent("alice-1")],
            [Session("alice", "avalon.irc", 0, [], endedAt: 6, end: SessionEnd.StreamLost)]));
        Assert.Equal((0, 1), (unanswered.Lost, unanswered.UnansweredAfterStreamLoss));
        Assert.True(unanswered.Passed, string.Join("\n", unanswered.Problems));
    }

    [Fact]
    public void A_message_nobody_got_whose_host_s_node_was_killed_soon_after_is_unanswered_and_one_others_got_or_sent_long_before_is_lost()
    {
        InjectedFault Kill(FaultKind kind, string host, double at) => new(new Fault(TimeSpan.Zero, kind, host, S(2)), S(at), S(at + 2), null, S(at + 1));
        var record = CleanRun() with
        {
            // argl-4 was sent while the command that killed killrc's node ran.
            Sent = [Sent("alice-1"), Sent("argl-1"), Sent("argl-2", at: 3), Sent("argl-3", at: 3), Sent("alice-2", at: 3), Sent("argl-4", at: 4.5)],
            Sessions =
            [
                Session("alice", "avalon.irc", 0, Live("alice-1", "argl-1")),
                Session("argl", "killrc.oulubox.irc", 0, Live("alice-1", "argl-1")),
                Session("squit", "eris.dclxvii.irc", 0, Live("alice-1", "argl-1", "argl-3")),
            ],
            Faults = [Kill(FaultKind.ReplicaNodeCrash, "killrc.oulubox.irc", 4), Kill(FaultKind.PrimaryNodeCrash, "avalon.irc", 40)],
        };

        var verdict = ChaosChecker.Check(record);

        // argl-2 died in killrc's node; argl-3 reached squit, so its echo was owed; alice-2 was sent long before avalon's node died.
        Assert.Equal((2, 2), (verdict.UnansweredInKilledNode, verdict.Lost));
        Assert.Contains(verdict.Problems, problem => problem.StartsWith("argl-3"));
        Assert.Contains(verdict.Problems, problem => problem.StartsWith("alice-2"));

        // A server that keeps what it handed the node until acknowledged hands it to the node's next life: no excuse there.
        var kept = ChaosChecker.Check(record with { HostsKeepingHandedStanzas = new HashSet<string> { "killrc.oulubox.irc" } });
        Assert.Equal((0, 4), (kept.UnansweredInKilledNode, kept.Lost));
        Assert.Contains(kept.Problems, problem => problem.StartsWith("argl-2"));
    }

    [Fact]
    public void An_error_is_an_outcome_but_an_error_and_a_delivery_of_the_same_message_fail()
    {
        var errored = ChaosChecker.Check(CleanRun() with
        {
            Sent = [Sent("alice-1"), Sent("argl-1"), Sent("argl-2")],
            Bounces = [new Bounce("argl-2", "remote-server-timeout", S(7))],
        });
        Assert.True(errored.Passed, string.Join("\n", errored.Problems));
        Assert.Equal(1, errored.Errored);

        var both = ChaosChecker.Check(CleanRun() with { Bounces = [new Bounce("argl-1", "not-allowed", S(7))] });
        Assert.Equal(1, both.DeliveredAndErrored);
        Assert.False(both.Passed);
    }

    [Fact]
    public void A_session_that_did_not_stay_must_still_have_each_senders_messages_without_holes()
    {
        var record = Record([Sent("alice-1"), Sent("alice-2"), Sent("alice-3")],
        [
            Session("alice", "avalon.irc", 0, Live("alice-1", "alice-2", "alice-3")),
            Session("argl", "killrc.oulubox.irc", 0, [.. Live("alice-1"), new Receipt("alice-3", true, S(30))], endedAt: 31, end: SessionEnd.StreamLost),
            Session("squit", "eris.dclxvii.irc", 0, Live("alice-2"), endedAt: 12, end: SessionEnd.StreamLost),
        ]);

        var verdict = ChaosChecker.Check(record);

        Assert.Equal((1, 0), (verdict.Holes, verdict.MissingCopies));
        Assert.Contains(verdict.Problems, problem => problem.StartsWith("alice-2: argl.1"));
    }

    /// <summary>
    /// The local topology's Prosodies say what each session got (mod_dmuc_delivered), so a restarted node resends nobody what
    /// they had: a copy again is a duplicate, delayed or not, just before the kill of the primary's node or a replica's or not.
    /// </summary>
    [Theory]
    [InlineData(FaultKind.PrimaryNodeCrash, "avalon.irc")]
    [InlineData(FaultKind.ReplicaNodeCrash, "killrc.oulubox.irc")]
    public void After_a_node_s_kill_a_copy_again_of_what_came_just_before_it_is_a_duplicate_even_delayed(FaultKind kind, string host)
    {
        var kill = new InjectedFault(new Fault(TimeSpan.Zero, kind, host, S(2)), S(11.5), S(14), null, S(12));
        var record = CleanRun() with
        {
            Sessions =
            [
                // argl-1 first came 0.5 s before the kill, again, delayed, after it.
                Session("alice", "avalon.irc", 0, [.. Live("alice-1", "argl-1"), new Receipt("argl-1", true, S(20))]),
                Session("argl", "killrc.oulubox.irc", 0, [.. Live("alice-1", "argl-1"), new Receipt("argl-1", true, S(20))]),
            ],
            Faults = [kill],
        };

        var verdict = ChaosChecker.Check(record);

        Assert.Equal(2, verdict.Duplicates);
        Assert.Contains(verdict.Problems, problem => problem.StartsWith("argl-1: 2 copies to alice"));
        Assert.Contains(verdict.Problems, problem => problem.StartsWith("argl-1: 2 copies to argl"));
    }

    [Fact]
    public void A_second_copy_is_a_duplicate_even_when_it_comes_delayed()
    {
        var record = CleanRun() with
        {
            Sessions =
            [
                Session("alice", "avalon.irc", 0, Live("alice-1", "argl-1")),
                Session("argl", "killrc.oulubox.irc", 0, [.. Live("alice-1", "argl-1"), new Receipt("alice-1", true, S(30))]),
            ],
        };

        Assert.Equal(1, ChaosChecker.Check(record).Duplicates);
    }

    [Fact]
    public void Live_copies_in_another_order_violate_it_and_delayed_catch_up_does_not()
    {
        var swapped = CleanRun() with
        {
            Sessions = [Session("alice", "avalon.irc", 0, Live("alice-1", "argl-1")), Session("argl", "killrc.oulubox.irc", 0, Live("argl-1", "alice-1"))],
        };
        Assert.Equal(1, ChaosChecker.Check(swapped).OrderViolations);

        var caughtUp = CleanRun() with
        {
            Sessions =
            [
                Session("alice", "avalon.irc", 0, Live("alice-1", "argl-1")),
                Session("argl", "killrc.oulubox.irc", 0, [new Receipt("argl-1", false, S(10)), new Receipt("alice-1", true, S(40))]),
            ],
        };
        var verdict = ChaosChecker.Check(caughtUp);
        Assert.True(verdict.Passed, string.Join("\n", verdict.Problems));
    }

    [Fact]
    public void A_ghost_must_be_seen_leaving_by_everyone_in_the_room_within_the_bound_of_its_servers_restart()
    {
        var crash = new InjectedFault(new Fault(S(1), FaultKind.ServerCrash, "killrc.oulubox.irc", S(2)), S(20), S(22), null);
        RoomSession Witness(double seenAt) => Session("alice", "avalon.irc", 0, [], departures: new() { ["argl.1"] = S(seenAt) });
        var ghost = Session("argl", "killrc.oulubox.irc", 0, [], endedAt: 20, end: SessionEnd.StreamLost);

        var inTime = ChaosChecker.Check(Record([], [ghost, Witness(23.5)], faults: [crash]));
        Assert.Equal((1, 0), (inTime.GhostsChecked, inTime.GhostsOverBound));
        Assert.Equal(S(1.5), inTime.LongestGhost);

        var late = ChaosChecker.Check(Record([], [ghost, Witness(22 + Bound.TotalSeconds + 1)], faults: [crash]));
        Assert.Equal(1, late.GhostsOverBound);
        Assert.False(late.Passed);
    }

    [Fact]
    public void A_witness_cut_off_after_the_server_s_restart_has_the_bound_from_its_heal_and_no_longer()
    {
        var crash = new InjectedFault(new Fault(S(1), FaultKind.ServerCrash, "killrc.oulubox.irc", S(2)), S(20), S(22), null);
        var ghost = Session("argl", "killrc.oulubox.irc", 0, [], endedAt: 20, end: SessionEnd.StreamLost);
        RoomSession Witness(string host, double seenAt) => Session("squit", host, 0, [], departures: new() { ["argl.1"] = S(seenAt) });
        var cutOfEris = new InjectedFault(new Fault(S(3), FaultKind.Cut, "eris.dclxvii.irc", S(30)), S(25), S(55), null);
        var healedAt = 55 + Bound.TotalSeconds;

        Assert.Equal(0, ChaosChecker.Check(Record([], [ghost, Witness("eris.dclxvii.irc", healedAt - 1)], faults: [crash, cutOfEris])).GhostsOverBound);
        Assert.Equal(1, ChaosChecker.Check(Record([], [ghost, Witness("eris.dclxvii.irc", healedAt + 1)], faults: [crash, cutOfEris])).GhostsOverBound);
        // A cut of a third host keeps nothing from this witness.
        Assert.Equal(1, ChaosChecker.Check(Record([], [ghost, Witness("vesa.yeggmaex.irc", healedAt - 1)], faults: [crash, cutOfEris])).GhostsOverBound);
    }

    [Fact]
    public void A_fault_that_could_not_be_injected_or_undone_fails_the_run()
    {
        var cut = new Fault(S(1), FaultKind.Cut, "killrc.oulubox.irc", S(5));
        var verdict = ChaosChecker.Check(CleanRun() with { Faults = [new InjectedFault(cut, S(1), S(6), "dmuc netsplit heal exited with 2")] });

        Assert.Equal(1, verdict.FaultCommandsFailed);
        Assert.False(verdict.Passed);
    }

    [Fact]
    public void Newcomers_must_see_the_same_history_and_exactly_who_is_still_in()
    {
        WitnessView View(string host, string nick, IReadOnlyList<string> occupants, IReadOnlyList<string> history) => new(host, nick, occupants, history, null);
        var agreeing = CleanRun() with
        {
            Witnesses =
            [
                View("avalon.irc", "admin.witness", ["alice.1", "argl.1"], ["alice-1", "argl-1"]),
                View("killrc.oulubox.irc", "phaedrus.witness", ["alice.1", "argl.1", "admin.witness"], ["alice-1", "argl-1"]),
            ],
        };
        var verdict = ChaosChecker.Check(agreeing);
        Assert.True(verdict.Passed, string.Join("\n", verdict.Problems));
        Assert.Equal(2, verdict.HistoriesCompared);

        var disagreeing = CleanRun() with
        {
            Witnesses =
            [
                View("avalon.irc", "admin.witness", ["alice.1", "argl.1", "argl.0"], ["alice-1", "argl-1"]),
                View("killrc.oulubox.irc", "phaedrus.witness", ["argl.1", "admin.witness"], ["argl-1", "alice-1"]),
                new WitnessView("vesa.yeggmaex.irc", "msa.witness", null, null, "entry refused"),
            ],
        };
        verdict = ChaosChecker.Check(disagreeing);
        Assert.Equal((1, 1, 2, 0), (verdict.RosterGhosts, verdict.SilentEvictions, verdict.HistoriesDiffering, verdict.UnechoedInHistory));

        var unechoed = ChaosChecker.Check(CleanRun() with { Witnesses = [View("avalon.irc", "admin.witness", ["alice.1", "argl.1"], ["alice-1", "argl-9"])] });
        Assert.Equal((0, 1), (unechoed.HistoriesDiffering, unechoed.UnechoedInHistory));
        Assert.False(unechoed.Passed);
    }

    [Fact]
    public void A_seed_always_draws_the_same_faults_of_the_allowed_kinds_on_hosts_they_apply_to()
    {
        string[] hosts = ["avalon.irc", "killrc.oulubox.irc", "eris.dclxvii.irc"];
        var first = FaultSchedule.Draw(7, ChaosOptions.AllFaults, hosts).Take(50).ToList();

        Assert.Equal(first, FaultSchedule.Draw(7, ChaosOptions.AllFaults, hosts).Take(50));
        Assert.NotEqual(first, FaultSchedule.Draw(8, ChaosOptions.AllFaults, hosts).Take(50));
        Assert.Equal(ChaosOptions.AllFaults.Order(), first.Select(fault => fault.Kind).Distinct().Order());
        Assert.All(first.Where(fault => fault.Kind == FaultKind.PrimaryNodeCrash), fault => Assert.Equal("avalon.irc", fault.Host));
        Assert.All(first.Where(fault => fault.Kind is FaultKind.Cut or FaultKind.ReplicaNodeCrash), fault => Assert.NotEqual("avalon.irc", fault.Host));
        Assert.All(FaultSchedule.Draw(7, [FaultKind.Cut], hosts).Take(20), fault => Assert.Equal(FaultKind.Cut, fault.Kind));

        var plan = FaultSchedule.Plan(7, ChaosOptions.AllFaults, hosts, TimeSpan.FromMinutes(5));
        Assert.Equal(first.Take(plan.Count), plan.Select(planned => planned.Fault));
        Assert.InRange(plan[^1].At + plan[^1].Fault.Lasts, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
    }
}
