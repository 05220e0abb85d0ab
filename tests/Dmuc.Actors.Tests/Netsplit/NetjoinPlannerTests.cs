using System.Globalization;
using System.Xml.Linq;
using CsCheck;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// The netjoin's resync (docs/protocol/netjoin.md §3) on <see cref="SplitRoomModel"/>: killrc is split from the
/// primary while the rest of the room goes on; after the netjoin its users see the room as it is, each change once.
/// </summary>
public sealed class NetjoinPlannerTests
{
    private static readonly ChatUser[] Everyone = [Trillian, Wumpus, Valdis, BigCheese, Efchen];

    private readonly SplitRoomModel _room = new(Wallops.Room, Avalon, Killrc, Vesa);

    [Fact]
    public void Messages_of_the_split_reach_the_replicas_users_once_delayed_and_nothing_they_had_is_sent_again()
    {
        Populate(Trillian, Wumpus, Valdis, BigCheese);
        _room.Send(Say(Trillian, Wallops.Room, "before", id: "before"));
        _room.Cut(Killrc);
        _room.Send(Say(Trillian, Wallops.Room, "during 1", id: "during-1"));
        _room.Send(Say(BigCheese, Wallops.Room, "during 2", id: "during-2"));

        var resync = Resync();

        Assert.Equal(["during 1", "during 2"], resync.Select(item => item.Stanza.Body()).OfType<string>());
        Assert.All(resync.Where(item => item.Stanza.Body() is not null), item => Assert.NotNull(item.Delay));
        foreach (var user in new[] { Wumpus, Valdis })
            foreach (var body in new[] { "before", "during 1", "during 2" })
                Assert.Single(_room.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody(body));
        Assert.Equal(_room.Primary.History.Last().StanzaId, _room.Replica(Killrc).LastStanzaId);
    }

    [Fact]
    public void A_split_longer_than_the_history_still_brings_every_message_from_the_netjoin_backlog()
    {
        Populate(Trillian, Wumpus, BigCheese);
        _room.Send(Say(Trillian, Wallops.Room, "before", id: "before"));
        _room.Cut(Killrc);
        var during = Enumerable.Range(0, DmucTestCluster.ServiceOptions.HistoryLength * 2).Select(index => $"during {index}").ToList();
        foreach (var body in during) _room.Send(Say(BigCheese, Wallops.Room, body, id: body));

        Assert.Equal(during, Resync().Select(item => item.Stanza.Body()).OfType<string>());
        foreach (var body in during.Prepend("before")) Assert.Single(_room.ReceivedBy(Wumpus), stanza => stanza.IsGroupchatWithBody(body));
    }

    [Fact]
    public void A_split_longer_than_the_backlog_tells_the_replicas_users_that_the_oldest_messages_are_missing()
    {
        var room = new SplitRoomModel(Wallops.Room, Avalon, SplitServing.Default,
            DmucTestCluster.ServiceOptions with { HistoryLength = 2, NetjoinBacklog = 3 }, Killrc, Vesa);
        room.Populate([Trillian, Wumpus, BigCheese]);
        room.Send(Say(Trillian, Wallops.Room, "before", id: "before"));
        room.Cut(Killrc);
        foreach (var index in Enumerable.Range(0, 5)) room.Send(Say(BigCheese, Wallops.Room, $"during {index}", id: $"during-{index}"));

        var bodies = room.Netjoin(Killrc).Items.Select(item => item.Stanza.Body()).OfType<string>().ToList();

        Assert.Equal([NetjoinPlanner.MessagesDroppedText, "during 2", "during 3", "during 4"], bodies);
        var notice = room.ReceivedBy(Wumpus).Single(stanza => stanza.Body() == NetjoinPlanner.MessagesDroppedText);
        Assert.Equal(Wallops.Room, notice.Attribute("from")?.Value);
        Assert.DoesNotContain(room.Replica(Killrc).History, entry => entry.Message.Body() == NetjoinPlanner.MessagesDroppedText);
    }

    [Fact]
    public void Entries_leaves_and_presence_changes_elsewhere_are_sent_once_and_unchanged_occupants_are_not()
    {
        Populate(Trillian, Wumpus, BigCheese, Efchen);
        _room.Cut(Killrc);
        _room.Send(Leave(Efchen, Wallops.Room));
        _room.Send(UpdatePresence(BigCheese, Wallops.Room, "away"));
        _room.Send(Enter(Troy, Wallops.Room));

        var resync = Resync();

        var presenceFrom = resync.Where(item => item.Stanza.Name == Ns.Client + "presence")
            .Select(item => item.Stanza.Attribute("from")!.Value).ToList();
        Assert.Equal(new[] { "BigCheese", "Efchen", "Troy" }.Select(nick => $"{Wallops.Room}/{nick}"), presenceFrom.Order());
        Assert.DoesNotContain(resync, item => item.Stanza.Attribute("from")?.Value is $"{Wallops.Room}/Trillian" or $"{Wallops.Room}/Wumpus");
        AssertEveryoneSeesTheRoomAsItIs();
    }

    [Fact]
    public void A_leave_held_on_the_replica_reaches_the_other_hosts_and_the_replica_does_not_hear_it_again()
    {
        Populate(Trillian, Wumpus, Valdis, BigCheese);
        _room.Cut(Killrc);
        _room.Send(Leave(Valdis, Wallops.Room));
        _room.Send(UpdatePresence(Wumpus, Wallops.Room, "dnd"));

        var resync = Resync();

        Assert.Empty(resync);
        Assert.DoesNotContain(Valdis.Nick, _room.Primary.OccupantNicks);
        foreach (var user in new[] { Trillian, Wumpus, Valdis, BigCheese })
            Assert.Single(_room.ReceivedBy(user), Received.PresenceOf(Wallops.Room, Valdis.Nick, available: false).Invoke);
        Assert.True(_room.ReceivedBy(Valdis).Single(Received.PresenceOf(Wallops.Room, Valdis.Nick, available: false).Invoke).HasStatus(110));
        Assert.Equal("dnd", RosterView.Of(_room.ReceivedBy(Trillian), _room.Room)[Wumpus.Nick].Show);
        Assert.Empty(_room.Replica(Killrc).HeldDuringSplit);
        AssertEveryoneSeesTheRoomAsItIs();
    }

    [Fact]
    public void A_local_occupant_whose_entry_batch_was_lost_gets_the_whole_roster_its_own_presence_last_marked_as_entering_then_the_subject()
    {
        Populate(Trillian, Wumpus, BigCheese);
        var report = Report(Killrc);
        var lostEntry = report with { LocalOccupants = new Dictionary<Jid, string>() };

        var resync = NetjoinPlanner.Resync(_room.Primary, Killrc, lostEntry);

        var toWumpus = resync.Where(item => item.Recipients?.Contains(Jid.Parse(Wumpus.Jid)) != false).ToList();
        var presences = toWumpus.Where(item => item.Stanza.Name == Ns.Client + "presence").ToList();
        Assert.Equal(_room.Primary.OccupantNicks.Order(), presences.Select(item => Jid.Parse(item.Stanza.Attribute("from")!.Value).Resource!).Order());
        Assert.True(presences[^1].Stanza.HasStatus(110));
        Assert.True(Received.Subject(Wallops.Room)(toWumpus[^1].Stanza), toWumpus[^1].Stanza.ToString());
        Assert.Equal(Jid.Parse(Wumpus.Jid), Assert.Single(resync, item => item.Enter is not null).Enter!.Occupant);
    }

    [Fact]
    public void A_local_occupant_the_primary_no_longer_has_is_removed_with_110_and_333()
    {
        Populate(Trillian, Wumpus);
        var stranger = Jid.Parse(Phaedrus.Jid);
        var report = Report(Killrc);
        var withGhost = report with { LocalOccupants = new Dictionary<Jid, string>(report.LocalOccupants) { [stranger] = Phaedrus.Nick } };

        var resync = NetjoinPlanner.Resync(_room.Primary, Killrc, withGhost);

        var removal = Assert.Single(resync, item => item.Leave is not null);
        Assert.Equal(stranger, removal.Leave);
        Assert.Equal([stranger], removal.Recipients);
        Assert.Equal("unavailable", removal.Stanza.Attribute("type")?.Value);
        Assert.True(removal.Stanza.HasStatus(110));
        Assert.True(removal.Stanza.HasStatus(333));
    }

    [Fact]
    public void A_netjoin_whose_resync_was_lost_does_not_process_the_held_stanzas_twice()
    {
        Populate(Trillian, Wumpus, Valdis);
        _room.Cut(Killrc);
        _room.Send(UpdatePresence(Wumpus, Wallops.Room, "away"));
        _room.Send(Leave(Valdis, Wallops.Room));

        _room.Netjoin(Killrc, resyncLost: true);
        _room.Send(UpdatePresence(Wumpus, Wallops.Room, "xa"));
        _room.Netjoin(Killrc);

        var wumpusSeenByTrillian = _room.ReceivedBy(Trillian).Where(Received.PresenceOf(Wallops.Room, Wumpus.Nick).Invoke);
        Assert.Equal([null, "away", "xa"], wumpusSeenByTrillian.Select(presence => presence.Element(Ns.Client + "show")?.Value));
        Assert.Single(_room.ReceivedBy(Trillian), Received.PresenceOf(Wallops.Room, Valdis.Nick, available: false).Invoke);
        Assert.Empty(_room.Replica(Killrc).HeldDuringSplit);
        Assert.Equal(4, _room.Replica(Killrc).FirstHeldNumber);
        AssertEveryoneSeesTheRoomAsItIs();
    }

    /// <summary>
    /// Wumpus's client sets no ids. What he says into a cut nobody noticed yet is shown to killrc's users when the split is found,
    /// and the resync's copy of it is matched to what they saw by its sender and body (before, by its id only: they saw it twice).
    /// </summary>
    [Fact]
    public void A_message_without_an_id_shown_at_the_split_is_not_shown_again_by_the_resync()
    {
        Populate(Trillian, Wumpus, Valdis, BigCheese);
        _room.LoseOnTheWay(Killrc, forwardsToo: true);
        _room.Send(SayWithoutId(Wumpus, Wallops.Room, "into the cut"));
        _room.Send(SayWithoutId(Wumpus, Wallops.Room, "into the cut"));
        _room.Cut(Killrc);
        Assert.Equal(2, _room.ReceivedBy(Valdis).Count(Received.GroupchatBody("into the cut").Invoke));

        Resync();

        foreach (var user in new[] { Trillian, Wumpus, Valdis, BigCheese })
            Assert.Equal(2, _room.ReceivedBy(user).Count(Received.GroupchatBody("into the cut").Invoke));
        AssertEveryoneSeesTheRoomAsItIs();
    }

    [Fact]
    public void Local_chat_of_a_split_reaches_the_other_hosts_once_delayed_with_its_time_and_the_replicas_users_not_again()
    {
        Populate(Trillian, Wumpus, Valdis, BigCheese);
        _room.Send(Say(Trillian, Wallops.Room, "before", id: "before"));
        _room.Cut(Killrc);
        _room.Send(Say(Trillian, Wallops.Room, "elsewhere", id: "elsewhere"));
        _room.Send(Say(Wumpus, Wallops.Room, "local 1", id: "local-1"));
        var saidAt = _room.Now;
        _room.Send(Say(Valdis, Wallops.Room, "local 2", id: "local-2"));
        Assert.Single(_room.ReceivedBy(Valdis), Received.GroupchatBody("local 1").Invoke);
        Assert.DoesNotContain(_room.ReceivedBy(Trillian), Received.GroupchatBody("local 1").Invoke);

        var resync = Resync();

        foreach (var user in new[] { Trillian, Wumpus, Valdis, BigCheese })
            foreach (var body in new[] { "before", "elsewhere", "local 1", "local 2" })
                Assert.Single(_room.ReceivedBy(user), Received.GroupchatBody(body).Invoke);
        foreach (var user in new[] { Trillian, BigCheese })
        {
            var late = _room.ReceivedBy(user).Single(Received.GroupchatBody("local 1").Invoke);
            Assert.Equal(saidAt, DateTimeOffset.Parse(late.Element(Ns.Delay + "delay")!.Attribute("stamp")!.Value, CultureInfo.InvariantCulture));
            Assert.Equal($"{Wallops.Room}/Wumpus", late.Attribute("from")?.Value);
        }
        Assert.Equal(["before", "elsewhere", "local 1", "local 2"], _room.Primary.History.Select(entry => XElement.Parse(entry.Stanza).Body()));
        Assert.Equal(saidAt, _room.Primary.History.Single(entry => entry.Nick == Wumpus.Nick).Timestamp);
        Assert.Equal(2, resync.Count(item => item.Recipients is { Count: 0 } && item.Stanza.Body() is not null));
        AssertReplicaHistoryIsThePrimarys(_room, Killrc);
        AssertEveryoneSeesTheRoomAsItIs();
    }

    [Fact]
    public void A_private_message_between_local_occupants_during_a_split_is_delivered_and_nothing_of_it_reaches_the_primary()
    {
        Populate(Trillian, Wumpus, Valdis);
        _room.Cut(Killrc);

        _room.Send(PrivateMessage(Wumpus, Wallops.Room, Valdis.Nick, "psst"));
        Resync();

        var whisper = Assert.Single(_room.ReceivedBy(Valdis), stanza => stanza.Body() == "psst");
        Assert.Equal($"{Wallops.Room}/Wumpus", whisper.Attribute("from")?.Value);
        Assert.DoesNotContain(_room.ReceivedBy(Trillian), stanza => stanza.Body() == "psst");
        Assert.Empty(_room.Primary.History);
    }

    [Fact]
    public void A_kick_by_a_local_moderator_during_a_split_is_seen_everywhere_once_after_the_netjoin()
    {
        Populate(Trillian, Wumpus, Valdis, BigCheese);
        _room.Send(SetRole(Trillian, Wallops.Room, Wumpus.Nick, "moderator"));
        _room.Cut(Killrc);

        _room.Send(SetRole(Wumpus, Wallops.Room, Valdis.Nick, "none", id: "kick"));
        Assert.True(_room.ReceivedBy(Valdis).Last().HasStatus(307));
        Resync();

        foreach (var user in new[] { Trillian, Wumpus, Valdis, BigCheese })
        {
            var kicked = Assert.Single(_room.ReceivedBy(user), Received.PresenceOf(Wallops.Room, Valdis.Nick, available: false).Invoke);
            Assert.True(kicked.HasStatus(307));
        }
        Assert.DoesNotContain(Valdis.Nick, _room.Primary.OccupantNicks);
        AssertEveryoneSeesTheRoomAsItIs();
    }

    [Fact]
    public void A_kick_the_room_no_longer_allows_at_the_netjoin_is_answered_with_its_error_and_the_kicked_user_stays_out()
    {
        Populate(Trillian, Wumpus, Valdis, BigCheese);
        _room.Send(SetRole(Trillian, Wallops.Room, Wumpus.Nick, "moderator"));
        _room.Cut(Killrc);
        _room.Send(SetRole(Trillian, Wallops.Room, Wumpus.Nick, "participant"));

        _room.Send(SetRole(Wumpus, Wallops.Room, Valdis.Nick, "none", id: "kick"));
        Resync();

        Assert.Contains(_room.ReceivedBy(Wumpus), stanza => stanza.Attribute("id")?.Value == "kick" && stanza.Attribute("type")?.Value == "error");
        Assert.DoesNotContain(Valdis.Nick, _room.Primary.OccupantNicks);
        AssertEveryoneSeesTheRoomAsItIs();
    }

    [Fact]
    public void Occupants_marked_away_during_a_split_are_shown_as_they_are_after_the_netjoin()
    {
        var room = new SplitRoomModel(Wallops.Room, Avalon, SplitServing.Default with { MarkOthersAway = true }, Killrc, Vesa);
        Populate(room, [Trillian, Wumpus, BigCheese]);

        room.Cut(Killrc);

        var seenByWumpus = RosterView.Of(room.ReceivedBy(Wumpus), room.Room);
        Assert.Equal("away", seenByWumpus[Trillian.Nick].Show);
        Assert.Equal("away", seenByWumpus[BigCheese.Nick].Show);
        Assert.Null(seenByWumpus[Wumpus.Nick].Show);
        room.Netjoin(Killrc);
        AssertEveryoneSeesTheRoomAsItIs(room);
    }

    [Fact]
    public void An_entry_during_a_split_is_admitted_at_the_netjoin_and_seen_once_by_the_other_hosts()
    {
        var room = new SplitRoomModel(Wallops.Room, Avalon, SplitServing.Default with { Entries = true }, Killrc, Vesa);
        Populate(room, [Trillian, Wumpus, BigCheese]);
        room.Send(Say(Trillian, Wallops.Room, "before", id: "before"));
        room.Cut(Killrc);

        room.Send(Enter(Phaedrus, Wallops.Room));
        Assert.Contains(room.ReceivedBy(Phaedrus), Received.OwnPresence(Wallops.Room, Phaedrus.Nick).Invoke);
        Assert.Single(room.ReceivedBy(Phaedrus), Received.GroupchatBody("before").Invoke);
        room.Netjoin(Killrc);

        Assert.Contains(Phaedrus.Nick, room.Primary.OccupantNicks);
        foreach (var user in new[] { Trillian, Wumpus, BigCheese })
            Assert.Single(room.ReceivedBy(user), Received.PresenceOf(Wallops.Room, Phaedrus.Nick).Invoke);
        Assert.Single(room.ReceivedBy(Phaedrus), Received.GroupchatBody("before").Invoke);
        AssertEveryoneSeesTheRoomAsItIs(room);
    }

    [Fact]
    public void A_split_entrant_whose_nick_was_taken_meanwhile_is_removed_at_the_netjoin_with_333_and_told_why()
    {
        var room = new SplitRoomModel(Wallops.Room, Avalon, SplitServing.Default with { Entries = true }, Killrc, Vesa);
        Populate(room, [Trillian, Wumpus, BigCheese]);
        var entrant = Phaedrus with { Nick = "Newbie" };
        var rival = Efchen with { Nick = "Newbie" };
        room.Cut(Killrc);
        room.Send(Enter(rival, Wallops.Room));

        room.Send(Enter(entrant, Wallops.Room));
        Assert.Contains(room.ReceivedBy(Wumpus), Received.PresenceOf(Wallops.Room, "Newbie").Invoke);
        room.Netjoin(Killrc);

        var told = room.ReceivedBy(entrant);
        Assert.Contains(told, stanza => stanza.Name.LocalName == "presence" && stanza.IsError("conflict"));
        Assert.Contains(told, stanza => stanza.Body() == NetjoinPlanner.NickTakenText && stanza.Attribute("from")?.Value == Wallops.Room);
        var removed = told.Last(Received.PresenceOf(Wallops.Room, "Newbie", available: false).Invoke);
        Assert.True(removed.HasStatus(110) && removed.HasStatus(333));
        var seenByWumpus = room.ReceivedBy(Wumpus).Where(stanza => stanza.Attribute("from")?.Value == $"{Wallops.Room}/Newbie").ToList();
        Assert.Equal([null, "unavailable", null], seenByWumpus.Select(presence => presence.Attribute("type")?.Value));
        Assert.True(seenByWumpus[1].HasStatus(333));
        Assert.DoesNotContain(room.Primary.Sessions, session => session.RealJid == Jid.Parse(entrant.Jid));
        Assert.DoesNotContain(room.ReceivedBy(rival), stanza => stanza.Attribute("from")?.Value == $"{Wallops.Room}/Newbie" && stanza.Attribute("type")?.Value == "unavailable");
        AssertEveryoneSeesTheRoomAsItIs(room);
    }

    /// <summary>
    /// Random traffic on every host while killrc's link is cut and healed, with the split replica serving local chat,
    /// kicks and private messages, and (at random) entries and away marking: after the last netjoin every occupant sees
    /// the room's roster as the primary has it, every accepted message exactly once, and every replica's history is
    /// the primary's. Two users contest one nick, one of them on killrc, so entries during a split collide.
    /// </summary>
    [Fact]
    public void After_any_sequence_of_splits_and_netjoins_every_occupant_sees_the_room_as_it_is_and_every_message_once()
    {
        var step = Gen.Frequency(
            (5, Gen.Int[0, Cast.Length - 1].Select(user => new Step(StepKind.Say, user))),
            (2, Gen.Int[1, Cast.Length - 1].Select(user => new Step(StepKind.Leave, user))),
            (3, Gen.Int[1, Cast.Length - 1].Select(user => new Step(StepKind.Enter, user))),
            (3, Gen.Int[0, Cast.Length - 1].Select(user => new Step(StepKind.ChangeShow, user))),
            (1, Gen.Int[1, Cast.Length - 1].Select(user => new Step(StepKind.Kick, user))),
            (1, Gen.Const(new Step(StepKind.Promote, 0))),
            (2, Gen.Const(new Step(StepKind.Cut, 0))),
            (2, Gen.Const(new Step(StepKind.Netjoin, 0))),
            (1, Gen.Const(new Step(StepKind.LostNetjoin, 0))));
        Gen.Select(step.Array[1, 30], Gen.Bool, Gen.Bool).Sample(run => RunAndCheck(run.Item1,
            SplitServing.Default with { Entries = run.Item2, MarkOthersAway = run.Item3 }), iter: 300);
    }

    /// <summary>Everyone, and two more who want the nick Newbie: one on killrc, one on a host without a replica.</summary>
    private static readonly ChatUser[] Cast = [.. Everyone, Phaedrus with { Nick = "Newbie" }, Troy with { Nick = "Newbie" }];

    private enum StepKind { Say, Leave, Enter, ChangeShow, Kick, Promote, Cut, Netjoin, LostNetjoin }

    private sealed record Step(StepKind Kind, int User);

    private static void RunAndCheck(Step[] steps, SplitServing serving)
    {
        var model = new SplitRoomModel(Wallops.Room, Avalon, serving, Killrc, Vesa);
        Populate(model, Everyone);
        var inThroughout = Everyone.ToHashSet();
        var sent = new List<(ChatUser Sender, string Id)>();
        var shows = new[] { "away", "chat", "dnd", "xa" };
        for (var i = 0; i < steps.Length; i++)
        {
            var user = Cast[steps[i].User];
            switch (steps[i].Kind)
            {
                case StepKind.Say:
                    model.Send(Say(user, Wallops.Room, $"message {i}", id: $"m{i}"));
                    sent.Add((user, $"m{i}"));
                    break;
                case StepKind.Leave:
                    model.Send(Leave(user, Wallops.Room));
                    inThroughout.Remove(user);
                    break;
                // Only users who are out: one already in would be sent the history again, legitimately.
                case StepKind.Enter when model.Primary.Sessions.All(session => session.RealJid != Jid.Parse(user.Jid)):
                    model.Send(Enter(user, Wallops.Room));
                    inThroughout.Remove(user);
                    break;
                case StepKind.ChangeShow:
                    model.Send(UpdatePresence(user, Wallops.Room, shows[i % shows.Length]));
                    break;
                // Wumpus kicks on killrc (locally when split, if the room made him a moderator), Trillian on the primary;
                // never Trillian, the owner, whose leaving would end the temporary room and its history.
                case StepKind.Kick:
                    model.Send(SetRole(i % 2 == 0 ? Wumpus : Trillian, Wallops.Room, user.Nick, "none", id: $"k{i}"));
                    inThroughout.Remove(user);
                    break;
                case StepKind.Promote:
                    model.Send(SetRole(Trillian, Wallops.Room, Wumpus.Nick, "moderator"));
                    break;
                case StepKind.Cut:
                    model.Cut(Killrc);
                    break;
                case StepKind.Netjoin or StepKind.LostNetjoin when model.IsSplit(Killrc):
                    model.Netjoin(Killrc, resyncLost: steps[i].Kind == StepKind.LostNetjoin);
                    break;
            }
        }
        if (model.IsSplit(Killrc)) model.Netjoin(Killrc);

        AssertEveryoneSeesTheRoomAsItIs(model);
        var accepted = sent.Where(message => !model.ReceivedBy(message.Sender).Any(stanza =>
            stanza.Attribute("id")?.Value == message.Id && stanza.Attribute("type")?.Value == "error")).ToList();
        Assert.Equal(model.Primary.History.Count, accepted.Count);
        foreach (var user in inThroughout)
            foreach (var (_, id) in accepted)
                Assert.Single(model.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody($"message {id[1..]}"));
        foreach (var user in inThroughout)
        {
            var bodies = model.ReceivedBy(user).Where(stanza => stanza.Name == Ns.Client + "message").Select(stanza => stanza.Body()).OfType<string>().ToList();
            Assert.Equal(bodies.Distinct(), bodies);
        }
        AssertReplicaHistoryIsThePrimarys(model, Killrc);
        AssertReplicaHistoryIsThePrimarys(model, Vesa);
    }

    private void Populate(params ChatUser[] users) => Populate(_room, users);

    private static void Populate(SplitRoomModel model, IEnumerable<ChatUser> users) => model.Populate(users);

    private IReadOnlyList<ReplicaItem> Resync() => _room.Netjoin(Killrc).Items;

    private ResyncReplica Report(string host) => _room.Report(host);

    private void AssertEveryoneSeesTheRoomAsItIs() => AssertEveryoneSeesTheRoomAsItIs(_room);

    /// <summary>
    /// The replica's history is the primary's as far as it goes back: the same messages in the same order, each
    /// once, with the primary's stanza-ids, and nothing provisional left from a split.
    /// </summary>
    private static void AssertReplicaHistoryIsThePrimarys(SplitRoomModel model, string host)
    {
        var replica = model.Replica(host).History.ToList();
        Assert.DoesNotContain(replica, entry => entry.Provisional);
        var ids = replica.Select(entry => ReplicaRoomState.StanzaIdOf(entry.Message, model.Room)).ToList();
        var primary = model.Primary.History.Select(entry => entry.StanzaId).ToList();
        var common = Math.Min(ids.Count, primary.Count);
        Assert.Equal(primary.TakeLast(common), ids.TakeLast(common));
        Assert.Equal(ids.Distinct(), ids);
    }

    /// <summary>Every occupant's roster, built from what it received, is the primary's, as that occupant is shown it.</summary>
    private static void AssertEveryoneSeesTheRoomAsItIs(SplitRoomModel model)
    {
        foreach (var session in model.Primary.Sessions)
        {
            var user = Cast.Concat([Troy, Phaedrus]).First(candidate => Jid.Parse(candidate.Jid) == session.RealJid);
            var expected = model.Primary.OccupantNicks.Order(StringComparer.Ordinal).Select(nick =>
                RosterEntry.FromPresence(model.Primary.PresenceOf(nick, [session.RealJid]).Single().Stanza, model.Room)).ToList();
            Assert.Equal(expected, RosterView.Of(model.ReceivedBy(user), model.Room).Values);
        }
    }
}
