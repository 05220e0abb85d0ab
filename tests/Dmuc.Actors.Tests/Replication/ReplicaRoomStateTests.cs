using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Replication;

public sealed class ReplicaRoomStateTests
{
    private const string OwnHost = "vesa.yeggmaex.irc";
    private static readonly Jid Room = Jid.Parse("wallops@channel.avalon.irc");
    private static readonly Jid BigCheese = Jid.Parse("rubenro@vesa.yeggmaex.irc/shaver");
    private static readonly Jid Efchen = Jid.Parse("msa@vesa.yeggmaex.irc/bicycle");
    private static readonly Jid WiZ = Jid.Parse("squit@eris.dclxvii.irc/jupiter");

    private static readonly DateTimeOffset Now = new(1990, 10, 13, 23, 58, 37, TimeSpan.Zero);

    private ReplicaRoomState _state = new(Room, OwnHost, maxHistory: 3);
    private long _sequence;

    [Fact]
    public void An_entry_the_user_never_asked_for_is_refused_and_the_user_gets_nothing()
    {
        var (deliveries, refused) = Apply(EnterItem(BigCheese, "BigCheese"), Broadcast(GroupchatMessage("Wumpus", "hello")));

        Assert.Equal([BigCheese], refused);
        Assert.Empty(deliveries);
        Assert.Empty(_state.LocalOccupants);
    }

    [Fact]
    public void An_entry_after_the_users_directed_presence_is_taken_and_broadcasts_then_reach_the_user()
    {
        _state.Apply(_state.DecideLocalStanza(JoinPresence(BigCheese, "BigCheese")));

        var (entering, refused) = Apply(EnterItem(BigCheese, "BigCheese"));
        var (broadcast, _) = Apply(Broadcast(GroupchatMessage("Wumpus", "hello")));

        Assert.Empty(refused);
        Assert.Equal([BigCheese], entering.Select(d => d.To));
        Assert.Equal("BigCheese", _state.LocalOccupants[BigCheese]);
        Assert.Equal([BigCheese], broadcast.Select(d => d.To));
    }

    [Fact]
    public void A_user_who_took_the_directed_presence_back_is_refused()
    {
        _state.Apply(_state.DecideLocalStanza(JoinPresence(BigCheese, "BigCheese")));
        _state.Apply(_state.DecideLocalStanza(Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese' type='unavailable'/>")));

        var (_, refused) = Apply(EnterItem(BigCheese, "BigCheese"));

        Assert.Equal([BigCheese], refused);
    }

    [Fact]
    public void An_entry_for_another_hosts_user_is_refused_even_with_directed_presence()
    {
        _state.Apply(_state.DecideLocalStanza(JoinPresence(WiZ, "WiZ")));

        var (deliveries, refused) = Apply(EnterItem(WiZ, "WiZ"));

        Assert.Equal([WiZ], refused);
        Assert.Empty(deliveries);
    }

    [Fact]
    public void Stanzas_are_delivered_only_to_the_replicas_own_host_users()
    {
        var privateMessage = Parse($"<message from='{Room}/Wumpus' type='chat'><body>psst</body></message>");

        var (deliveries, _) = Apply(new ReplicaItem(privateMessage, [WiZ, Efchen]));

        Assert.Equal([Efchen], deliveries.Select(d => d.To));
    }

    [Fact]
    public void A_leaving_occupant_gets_the_batch_it_leaves_with_and_nothing_after()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");

        var unavailable = Parse($"<presence from='{Room}/BigCheese' type='unavailable'/>");
        var (leaving, _) = Apply(new ReplicaItem(unavailable, null, Leave: BigCheese));
        var (after, _) = Apply(Broadcast(GroupchatMessage("Wumpus", "good riddance")));

        Assert.Equal(new HashSet<Jid> { BigCheese, Efchen }, leaving.Select(d => d.To).ToHashSet());
        Assert.Equal([Efchen], after.Select(d => d.To));
        Assert.False(_state.LocalOccupants.ContainsKey(BigCheese));
    }

    [Fact]
    public void The_history_keeps_the_delayed_messages_with_the_primarys_timestamps_up_to_its_limit()
    {
        EnterLocally(BigCheese, "BigCheese");
        var stamps = Enumerable.Range(0, 4).Select(i => new DateTimeOffset(1990, 1, 23, 19, 50, i, TimeSpan.Zero)).ToList();

        Apply(stamps.Select((stamp, i) => Broadcast(GroupchatMessage("Trillian", $"message {i}")) with { Delay = stamp })
            .Append(Broadcast(GroupchatMessage("Trillian", "not kept: no delay"))).ToArray());

        Assert.Equal(stamps.Skip(1), _state.History.Select(entry => entry.AcceptedAt));
        Assert.Equal(["message 1", "message 2", "message 3"], _state.History.Select(entry => entry.Message.Element(Ns.Client + "body")?.Value));
    }

    [Fact]
    public void The_roster_follows_broadcast_presences()
    {
        Apply(Broadcast(OccupantPresence("Wumpus", "owner", "moderator")), Broadcast(OccupantPresence("Valdis", "none", "participant")));
        Apply(Broadcast(Parse($"<presence from='{Room}/Valdis' type='unavailable'/>")));

        var wumpus = Assert.Single(_state.Roster);
        Assert.Equal("Wumpus", wumpus.Key);
        Assert.Equal(Role.Moderator, wumpus.Value.Role);
    }

    [Fact]
    public void A_leave_during_a_split_gives_the_leaver_110_and_the_other_local_occupants_the_leave_and_is_held()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        Apply(Broadcast(OccupantPresence("BigCheese", "member", "participant")));
        var leave = Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese' type='unavailable'/>");

        var deliveries = _state.Apply(_state.DecideDuringSplit(leave, Now)).Deliveries;

        var own = Assert.Single(deliveries, d => d.To == BigCheese).Stanza;
        Assert.Equal("unavailable", own.Attribute("type")?.Value);
        Assert.Equal($"{Room}/BigCheese", own.Attribute("from")?.Value);
        Assert.True(own.HasStatus(110));
        var seen = Assert.Single(deliveries, d => d.To == Efchen).Stanza;
        Assert.Equal("unavailable", seen.Attribute("type")?.Value);
        Assert.False(seen.HasStatus(110));
        Assert.Null(seen.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item")?.Attribute("jid"));
        Assert.Equal("member", seen.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item")?.Attribute("affiliation")?.Value);
        Assert.Equal(2, deliveries.Count);
        Assert.Equal([Efchen], _state.LocalOccupants.Keys);
        Assert.DoesNotContain("BigCheese", _state.Roster.Keys);
        Assert.Same(leave, Assert.Single(_state.HeldDuringSplit).Stanza);
    }

    [Fact]
    public void A_leave_to_the_bare_room_during_a_split_is_a_leave_too()
    {
        EnterLocally(BigCheese, "BigCheese");

        var deliveries = _state.Apply(_state.DecideDuringSplit(Parse($"<presence from='{BigCheese}' to='{Room}' type='unavailable'/>"), Now)).Deliveries;

        Assert.True(Assert.Single(deliveries).Stanza.HasStatus(110));
        Assert.Empty(_state.LocalOccupants);
    }

    [Fact]
    public void A_presence_change_during_a_split_reaches_every_local_occupant_with_the_last_known_role_and_is_held()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        Apply(Broadcast(OccupantPresence("BigCheese", "none", "moderator")));
        var away = Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese'><show>away</show></presence>");

        var deliveries = _state.Apply(_state.DecideDuringSplit(away, Now)).Deliveries;

        var own = Assert.Single(deliveries, d => d.To == BigCheese).Stanza;
        var seen = Assert.Single(deliveries, d => d.To == Efchen).Stanza;
        Assert.True(own.HasStatus(110));
        Assert.Equal(BigCheese.ToString(), own.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item")?.Attribute("jid")?.Value);
        Assert.Null(seen.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item")?.Attribute("jid"));
        Assert.All(new[] { own, seen }, presence => Assert.Equal("away", presence.Element(Ns.Client + "show")?.Value));
        Assert.Equal(new RosterEntry("BigCheese", Affiliation.None, Role.Moderator, "away", null), _state.Roster["BigCheese"]);
        Assert.Equal(2, _state.LocalOccupants.Count);
        Assert.Same(away, Assert.Single(_state.HeldDuringSplit).Stanza);
    }

    [Theory]
    [InlineData("<message from='{user}' to='{room}' type='groupchat' id='lonely'><body>anyone there?</body></message>", false)]
    [InlineData("<message from='{user}' to='{room}/Efchen' type='chat' id='lonely'><body>psst</body></message>", false)]
    [InlineData("<iq from='{user}' to='{room}' type='set' id='lonely'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Efchen' role='none'/></query></iq>", false)]
    [InlineData("<message from='{user}' to='{room}' type='groupchat' id='lonely'><subject>split</subject></message>", true)]
    [InlineData("<message from='{user}' to='{room}/Trillian' type='chat' id='lonely'><body>psst</body></message>", true)]
    [InlineData("<message from='{user}' to='{room}' id='lonely'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='argl@killrc.oulubox.irc'/></x></message>", true)]
    [InlineData("<presence from='{user}' to='{room}/NewNick' id='lonely'/>", true)]
    [InlineData("<iq from='{user}' to='{room}' type='get' id='lonely'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", true)]
    [InlineData("<iq from='{user}' to='{room}' type='set' id='lonely'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Efchen' role='visitor'/></query></iq>", true)]
    public void Anything_not_served_during_a_split_is_answered_with_the_documented_error_and_not_held(string template, bool neverServed)
    {
        if (!neverServed) _state = new ReplicaRoomState(Room, OwnHost, maxHistory: 3, SplitServing.Nothing);
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        var stanza = Parse(template.Replace("{user}", BigCheese.ToString()).Replace("{room}", Room.ToString()));

        var error = Assert.Single(_state.Apply(_state.DecideDuringSplit(stanza, Now)).Deliveries);

        Assert.Equal(BigCheese, error.To);
        Assert.Equal("lonely", error.Stanza.Attribute("id")?.Value);
        Assert.True(error.Stanza.IsError("remote-server-timeout"));
        Assert.Equal("wait", error.Stanza.Element(Ns.Client + "error")?.Attribute("type")?.Value);
        Assert.Equal(ReplicaRoomState.SplitErrorText, error.Stanza.Element(Ns.Client + "error")?.Element(Ns.Stanzas + "text")?.Value);
        Assert.Equal("the room is split from its primary; try again shortly", ReplicaRoomState.SplitErrorText);
        Assert.Empty(_state.HeldDuringSplit);
        Assert.Equal(2, _state.LocalOccupants.Count);
    }

    [Fact]
    public void An_entry_during_a_split_is_refused_with_the_error()
    {
        var error = Assert.Single(_state.Apply(_state.DecideDuringSplit(JoinPresence(Efchen, "Efchen"), Now)).Deliveries);

        Assert.True(error.Stanza.IsError("remote-server-timeout"));
        Assert.Empty(_state.LocalOccupants);
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void Errors_and_results_during_a_split_are_dropped_without_an_answer()
    {
        EnterLocally(BigCheese, "BigCheese");

        Assert.Empty(_state.Apply(_state.DecideDuringSplit(Parse($"<iq from='{BigCheese}' to='{Room}/Efchen' type='result' id='r'/>"), Now)).Deliveries);
        Assert.Empty(_state.Apply(_state.DecideDuringSplit(Parse($"<message from='{BigCheese}' to='{Room}' type='error' id='e'/>"), Now)).Deliveries);
    }

    [Fact]
    public void Held_stanzas_keep_their_numbers_when_a_netjoin_carried_the_first_of_them()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        _state.Apply(_state.DecideDuringSplit(Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese'><show>away</show></presence>"), Now));
        _state.Apply(_state.DecideDuringSplit(Parse($"<presence from='{Efchen}' to='{Room}/Efchen' type='unavailable'/>"), Now));

        _state.Apply(new HeldStanzasReachedPrimary(1));

        Assert.Equal(2, _state.FirstHeldNumber);
        Assert.Equal(Efchen.ToString(), Assert.Single(_state.HeldDuringSplit).Stanza.Attribute("from")?.Value);

        _state.Apply(new HeldStanzasReachedPrimary(5));

        Assert.Empty(_state.HeldDuringSplit);
        Assert.Equal(3, _state.FirstHeldNumber);
    }

    [Fact]
    public void Local_chat_during_a_split_reaches_every_local_occupant_without_a_stanza_id_is_kept_provisionally_and_held()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        var said = Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat' id='lonely'><body>anyone there?</body>" +
                         $"<stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='forged'/></message>");

        var deliveries = _state.Apply(_state.DecideDuringSplit(said, Now)).Deliveries;

        Assert.Equal(new HashSet<Jid> { BigCheese, Efchen }, deliveries.Select(d => d.To).ToHashSet());
        var relayed = deliveries[0].Stanza;
        Assert.Equal($"{Room}/BigCheese", relayed.Attribute("from")?.Value);
        Assert.Equal("lonely", relayed.Attribute("id")?.Value);
        Assert.Null(relayed.Attribute("to"));
        Assert.Empty(relayed.Elements(Ns.StanzaId + "stanza-id"));
        var kept = Assert.Single(_state.History);
        Assert.True(kept.Provisional);
        Assert.Equal(Now, kept.AcceptedAt);
        Assert.Equal(new HeldStanza(said, Now), Assert.Single(_state.HeldDuringSplit));
    }

    [Fact]
    public void A_message_asking_not_to_be_stored_during_a_split_is_relayed_and_held_but_not_kept()
    {
        EnterLocally(BigCheese, "BigCheese");

        var deliveries = _state.Apply(_state.DecideDuringSplit(Parse(
            $"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>off the record</body><no-store xmlns='urn:xmpp:hints'/></message>"), Now)).Deliveries;

        Assert.Single(deliveries);
        Assert.Empty(_state.History);
        Assert.Single(_state.HeldDuringSplit);
    }

    [Fact]
    public void Only_messages_of_the_rooms_history_move_the_last_stanza_id_a_netjoin_starts_from()
    {
        EnterLocally(BigCheese, "BigCheese");
        XElement WithId(string body, string id, string extra = "") =>
            Parse($"<message from='{Room}/Wumpus' type='groupchat'><body>{body}</body><stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='{id}'/>{extra}</message>");

        Apply(Broadcast(WithId("kept", "sid-kept")) with { Delay = Now });
        Apply(Broadcast(WithId("off the record", "sid-no-store", "<no-store xmlns='urn:xmpp:hints'/>")));
        Assert.Equal("sid-kept", _state.LastStanzaId);

        Apply(new ReplicaItem(WithId("replayed", "sid-replayed", $"<delay xmlns='urn:xmpp:delay' from='{Room}' stamp='1990-10-13T23:58:37Z'/>"), [BigCheese]));
        Assert.Equal("sid-replayed", _state.LastStanzaId);
    }

    [Fact]
    public void A_visitor_may_not_chat_during_a_split()
    {
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(OccupantPresence("BigCheese", "none", "visitor")));

        var error = Assert.Single(_state.Apply(_state.DecideDuringSplit(Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>hi</body></message>"), Now)).Deliveries);

        Assert.True(error.Stanza.IsError("forbidden"));
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void A_message_the_room_keeps_without_a_body_during_a_split_is_kept_and_held_as_the_room_would_keep_it()
    {
        EnterLocally(BigCheese, "BigCheese");
        var marker = Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/></message>");

        Assert.Single(_state.Apply(_state.DecideDuringSplit(marker, Now)).Deliveries);

        Assert.True(Assert.Single(_state.History).Provisional);
        Assert.Same(marker, Assert.Single(_state.HeldDuringSplit).Stanza);
    }

    [Fact]
    public void Local_chat_during_a_split_drops_a_legacy_delay_claiming_to_come_from_the_room()
    {
        EnterLocally(BigCheese, "BigCheese");

        var relayed = Assert.Single(_state.Apply(_state.DecideDuringSplit(Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>old news</body>" +
            $"<x xmlns='jabber:x:delay' from='{Room}' stamp='19901013T23:58:37'/></message>"), Now)).Deliveries).Stanza;

        Assert.Null(relayed.Element((XNamespace)"jabber:x:delay" + "x"));
    }

    [Fact]
    public void A_chat_state_during_a_split_is_relayed_but_neither_kept_nor_held()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");

        var deliveries = _state.Apply(_state.DecideDuringSplit(Parse(
            $"<message from='{BigCheese}' to='{Room}' type='groupchat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"), Now)).Deliveries;

        Assert.Equal(2, deliveries.Count);
        Assert.Empty(_state.History);
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void The_netjoins_resync_replaces_the_provisional_history_with_the_primarys_copies_without_delivering_them()
    {
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(GroupchatMessage("Wumpus", "before")) with { Delay = Now.AddMinutes(-1) });
        _state.Apply(_state.DecideDuringSplit(Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>during</body></message>"), Now));
        var primarysCopy = Parse($"<message from='{Room}/BigCheese' type='groupchat'><body>during</body>" +
                                 $"<stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='sid-during'/></message>");

        var (deliveries, _) = Taken(new ReplicaBatch(Room, OwnHost, ++_sequence,
            [new ReplicaItem(primarysCopy, [], Delay: Now)], ResyncOf: "netjoin-1"));

        Assert.Empty(deliveries);
        Assert.Equal(["before", "during"], _state.History.Select(entry => entry.Message.Element(Ns.Client + "body")?.Value));
        Assert.DoesNotContain(_state.History, entry => entry.Provisional);
        Assert.Equal("sid-during", _state.LastStanzaId);
    }

    [Fact]
    public void The_history_is_forgotten_with_the_roster_when_the_last_local_occupant_leaves()
    {
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(GroupchatMessage("Wumpus", "before")) with { Delay = Now });

        Apply(new ReplicaItem(Parse($"<presence from='{Room}/BigCheese' type='unavailable'/>"), null, Leave: BigCheese));

        Assert.Empty(_state.History);
        Assert.Empty(_state.Roster);
    }

    [Fact]
    public void A_replica_nobody_local_is_in_keeps_no_history()
    {
        Apply(Broadcast(GroupchatMessage("Wumpus", "said while nobody was here")) with { Delay = Now });

        Assert.Empty(_state.History);
    }

    [Fact]
    public void A_private_message_to_a_local_occupant_during_a_split_is_relayed_from_the_senders_nick_and_not_held()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");

        var delivery = Assert.Single(_state.Apply(_state.DecideDuringSplit(
            Parse($"<message from='{BigCheese}' to='{Room}/Efchen' type='chat' id='psst'><body>psst</body></message>"), Now)).Deliveries);

        Assert.Equal(Efchen, delivery.To);
        Assert.Equal($"{Room}/BigCheese", delivery.Stanza.Attribute("from")?.Value);
        Assert.Equal("psst", delivery.Stanza.Element(Ns.Client + "body")?.Value);
        Assert.NotNull(delivery.Stanza.Element(Ns.MucUser + "x"));
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void A_moderator_kicks_a_local_participant_during_a_split_with_307_and_the_kick_is_held()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        var third = Jid.Parse("phaedrus@vesa.yeggmaex.irc/desk");
        EnterLocally(third, "Phaedrus");
        Apply(Broadcast(OccupantPresence("BigCheese", "admin", "moderator")), Broadcast(OccupantPresence("Efchen", "member", "participant")));
        var kick = Parse($"<iq from='{BigCheese}' to='{Room}' type='set' id='kick1'><query xmlns='http://jabber.org/protocol/muc#admin'>" +
                         "<item nick='Efchen' role='none'><reason>Avaunt, you cullion!</reason></item></query></iq>");

        var deliveries = _state.Apply(_state.DecideDuringSplit(kick, Now)).Deliveries;

        var own = Assert.Single(deliveries, d => d.To == Efchen).Stanza;
        Assert.Equal("unavailable", own.Attribute("type")?.Value);
        Assert.True(own.HasStatus(110) && own.HasStatus(307));
        var item = own.Element(Ns.MucUser + "x")!.Element(Ns.MucUser + "item")!;
        Assert.Equal(("member", "none"), (item.Attribute("affiliation")?.Value, item.Attribute("role")?.Value));
        Assert.Equal("BigCheese", item.Element(Ns.MucUser + "actor")?.Attribute("nick")?.Value);
        Assert.Equal("Avaunt, you cullion!", item.Element(Ns.MucUser + "reason")?.Value);
        var seen = Assert.Single(deliveries, d => d.To == third).Stanza;
        Assert.True(seen.HasStatus(307) && !seen.HasStatus(110));
        Assert.Contains(deliveries, d => d.To == BigCheese && d.Stanza.Name.LocalName == "presence" && d.Stanza.HasStatus(307));
        var result = Assert.Single(deliveries, d => d.To == BigCheese && d.Stanza.Name.LocalName == "iq").Stanza;
        Assert.Equal(("result", "kick1"), (result.Attribute("type")?.Value, result.Attribute("id")?.Value));
        Assert.False(_state.LocalOccupants.ContainsKey(Efchen));
        Assert.DoesNotContain("Efchen", _state.Roster.Keys);
        Assert.Same(kick, Assert.Single(_state.HeldDuringSplit).Stanza);
    }

    // The room's own rule (Moderation.MayChangeRole), and its answer: not-allowed.
    [Theory]
    [InlineData("participant", "none", "none", "participant", "not-allowed")]
    [InlineData("moderator", "member", "none", "moderator", "not-allowed")]
    [InlineData("moderator", "member", "owner", "participant", "not-allowed")]
    public void A_kick_during_a_split_the_room_would_refuse_is_refused_and_not_held(
        string actorRole, string actorAffiliation, string targetAffiliation, string targetRole, string condition)
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        Apply(Broadcast(OccupantPresence("BigCheese", actorAffiliation, actorRole)), Broadcast(OccupantPresence("Efchen", targetAffiliation, targetRole)));

        var error = Assert.Single(_state.Apply(_state.DecideDuringSplit(Parse($"<iq from='{BigCheese}' to='{Room}' type='set' id='kick1'>" +
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Efchen' role='none'/></query></iq>"), Now)).Deliveries);

        Assert.True(error.Stanza.IsError(condition));
        Assert.Equal(2, _state.LocalOccupants.Count);
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void An_admin_moderator_kicks_a_moderator_of_lower_affiliation_during_a_split_as_the_room_would()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        Apply(Broadcast(OccupantPresence("BigCheese", "admin", "moderator")), Broadcast(OccupantPresence("Efchen", "member", "moderator")));

        var deliveries = _state.Apply(_state.DecideDuringSplit(Parse($"<iq from='{BigCheese}' to='{Room}' type='set' id='kick1'>" +
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Efchen' role='none'/></query></iq>"), Now)).Deliveries;

        Assert.True(Assert.Single(deliveries, d => d.To == Efchen).Stanza.HasStatus(307));
        Assert.False(_state.LocalOccupants.ContainsKey(Efchen));
        Assert.Single(_state.HeldDuringSplit);
    }

    [Fact]
    public void A_kick_of_an_occupant_on_another_host_during_a_split_gets_the_split_error()
    {
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(OccupantPresence("BigCheese", "owner", "moderator")), Broadcast(OccupantPresence("WiZ", "none", "participant")));

        var error = Assert.Single(_state.Apply(_state.DecideDuringSplit(Parse($"<iq from='{BigCheese}' to='{Room}' type='set' id='kick1'>" +
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='WiZ' role='none'/></query></iq>"), Now)).Deliveries);

        Assert.True(error.Stanza.IsError("remote-server-timeout"));
    }

    [Fact]
    public void Marking_others_away_shows_every_non_local_occupant_away_once_and_remembers_it_for_the_netjoin()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { MarkOthersAway = true });
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        Apply(Broadcast(OccupantPresence("BigCheese", "none", "participant")), Broadcast(OccupantPresence("WiZ", "owner", "moderator")));

        var deliveries = _state.Apply(_state.DecideSplit()).Deliveries;

        Assert.Equal(new HashSet<Jid> { BigCheese, Efchen }, deliveries.Select(d => d.To).ToHashSet());
        Assert.All(deliveries, d => Assert.Equal($"{Room}/WiZ", d.Stanza.Attribute("from")?.Value));
        Assert.Equal("away", deliveries[0].Stanza.Element(Ns.Client + "show")?.Value);
        Assert.Equal("moderator", deliveries[0].Stanza.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item")?.Attribute("role")?.Value);
        Assert.Equal(new RosterEntry("WiZ", Affiliation.Owner, Role.Moderator, "away", SplitHostAway.SplitStatus), _state.Roster["WiZ"]);
        Assert.Empty(_state.Apply(_state.DecideSplit()).Deliveries);
    }

    [Fact]
    public void Marking_others_away_keeps_their_own_status_text_as_the_primary_does()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { MarkOthersAway = true });
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(Parse($"<presence from='{Room}/WiZ'><status>gone fishing</status>" +
            "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x></presence>")));

        var away = Assert.Single(_state.Apply(_state.DecideSplit()).Deliveries).Stanza;

        Assert.Equal(("away", "gone fishing"), (away.Element(Ns.Client + "show")?.Value, away.Element(Ns.Client + "status")?.Value));
    }

    [Fact]
    public void Others_are_not_marked_away_by_default()
    {
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(OccupantPresence("WiZ", "owner", "moderator")));

        Assert.Empty(_state.Apply(_state.DecideSplit()).Deliveries);
    }

    [Fact]
    public void An_entry_during_a_split_when_allowed_gets_the_roster_its_own_presence_and_the_history_and_is_held()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { Entries = true });
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(OccupantPresence("BigCheese", "none", "participant")), Broadcast(OccupantPresence("WiZ", "owner", "moderator")));
        Apply(Broadcast(GroupchatMessage("WiZ", "before")) with { Delay = Now.AddMinutes(-1) });
        var join = JoinPresence(Efchen, "Efchen");

        var deliveries = _state.Apply(_state.DecideDuringSplit(join, Now)).Deliveries;

        var toEntrant = deliveries.Where(d => d.To == Efchen).Select(d => d.Stanza).ToList();
        Assert.Equal([$"{Room}/BigCheese", $"{Room}/WiZ", $"{Room}/Efchen", $"{Room}/WiZ"], toEntrant.Select(s => s.Attribute("from")?.Value));
        Assert.True(toEntrant[2].HasStatus(110));
        Assert.Equal("before", toEntrant[3].Element(Ns.Client + "body")?.Value);
        Assert.NotNull(toEntrant[3].Element(Ns.Delay + "delay"));
        var seen = Assert.Single(deliveries, d => d.To == BigCheese).Stanza;
        Assert.Equal($"{Room}/Efchen", seen.Attribute("from")?.Value);
        Assert.False(seen.HasStatus(110));
        Assert.Equal("Efchen", _state.LocalOccupants[Efchen]);
        Assert.Equal(Role.Participant, _state.Roster["Efchen"].Role);
        Assert.Same(join, Assert.Single(_state.HeldDuringSplit).Stanza);
    }

    [Fact]
    public void An_entry_during_a_split_gets_the_history_its_seconds_limit_asks_for_as_the_room_reads_it()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { Entries = true });
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(GroupchatMessage("WiZ", "an hour ago")) with { Delay = Now.AddHours(-1) });
        Apply(Broadcast(GroupchatMessage("WiZ", "a minute ago")) with { Delay = Now.AddMinutes(-1) });

        var deliveries = _state.Apply(_state.DecideDuringSplit(Parse($"<presence from='{Efchen}' to='{Room}/Efchen'>" +
            "<x xmlns='http://jabber.org/protocol/muc'><history seconds='600'/></x></presence>"), Now)).Deliveries;

        Assert.Equal(["a minute ago"], deliveries.Where(d => d.To == Efchen).Select(d => d.Stanza.Element(Ns.Client + "body")?.Value).OfType<string>());
    }

    [Fact]
    public void An_entry_during_a_split_under_a_nick_in_the_roster_gets_a_conflict()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { Entries = true });
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(OccupantPresence("WiZ", "owner", "moderator")));

        var error = Assert.Single(_state.Apply(_state.DecideDuringSplit(JoinPresence(Efchen, "WiZ"), Now)).Deliveries);

        Assert.True(error.Stanza.IsError("conflict"));
        Assert.Equal($"{Room}/WiZ", error.Stanza.Attribute("from")?.Value);
        Assert.False(_state.LocalOccupants.ContainsKey(Efchen));
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void An_entry_during_a_split_into_a_replica_without_local_occupants_gets_the_split_error_even_when_allowed()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { Entries = true });

        Assert.True(Assert.Single(_state.Apply(_state.DecideDuringSplit(JoinPresence(Efchen, "Efchen"), Now)).Deliveries).Stanza.IsError("remote-server-timeout"));
    }

    /// <summary>
    /// A restarted replica node kept nothing: a netjoin resync re-sends an own host's user who stayed connected. The entry is
    /// taken provisionally and the user pinged from the room; what the resync brings waits for the ping's result.
    /// </summary>
    [Fact]
    public void A_resync_entry_of_an_own_hosts_user_the_replica_forgot_is_checked_and_kept_when_the_ping_is_answered()
    {
        var (deliveries, refused) = Resync(EnterItem(BigCheese, "BigCheese"), Broadcast(GroupchatMessage("Wumpus", "missed")));

        Assert.Empty(refused);
        var ping = Assert.Single(deliveries);
        Assert.Equal(BigCheese, ping.To);
        Assert.Equal(Room.ToString(), ping.Stanza.Attribute("from")?.Value);
        Assert.NotNull(ping.Stanza.Element(Ns.Ping + "ping"));
        var check = Assert.Single(_state.PendingChecks);

        var answer = _state.DecideCheckAnswer(PingAnswer(BigCheese, ping.Stanza, "result"));

        Assert.NotNull(answer);
        Assert.Empty(_state.Apply(answer).ToRoom);
        Assert.Equal(["110", "missed"], answer.Deliveries.Select(d => d.Stanza.Element(Ns.Client + "body")?.Value
            ?? d.Stanza.Descendants(Ns.MucUser + "status").Single().Attribute("code")!.Value));
        Assert.All(answer.Deliveries, d => Assert.Equal(BigCheese, d.To));
        Assert.Empty(_state.PendingChecks);
        Assert.Empty(_state.Apply(_state.DecideCheckUnanswered(check)).ToRoom);
        Assert.Equal([BigCheese], Apply(Broadcast(GroupchatMessage("Wumpus", "after"))).Deliveries.Select(d => d.To));
    }

    [Fact]
    public void A_forgotten_user_whose_server_answers_the_ping_with_an_error_is_dropped_gets_nothing_and_the_error_goes_to_the_room()
    {
        var (deliveries, _) = Resync(EnterItem(BigCheese, "BigCheese"), Broadcast(GroupchatMessage("Wumpus", "missed")));
        var error = PingAnswer(BigCheese, deliveries.Single().Stanza, "error",
            "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>");

        var answer = _state.DecideCheckAnswer(error);

        Assert.NotNull(answer);
        Assert.Same(error, Assert.Single(_state.Apply(answer).ToRoom));
        Assert.Empty(answer.Deliveries);
        Assert.Empty(_state.LocalOccupants);
        Assert.Empty(Apply(Broadcast(GroupchatMessage("Wumpus", "after"))).Deliveries);
    }

    [Fact]
    public void A_forgotten_user_who_does_not_answer_the_ping_in_time_is_dropped_and_the_room_gets_a_timeout_error_in_their_name()
    {
        _state.Apply(_state.DecideLocalStanza(JoinPresence(Efchen, "Efchen")));
        Resync(EnterItem(Efchen, "Efchen"), EnterItem(BigCheese, "BigCheese"));
        var check = Assert.Single(_state.PendingChecks);

        var error = Assert.Single(_state.Apply(_state.DecideCheckUnanswered(check)).ToRoom);

        Assert.Equal(BigCheese.ToString(), error.Attribute("from")?.Value);
        Assert.Equal(Room.ToString(), error.Attribute("to")?.Value);
        Assert.True(error.IsError("remote-server-timeout"), error.ToString());
        Assert.True(RoomState.SessionGone(error));
        Assert.Equal([Efchen], _state.LocalOccupants.Keys);
        Assert.Null(_state.DecideCheckAnswer(PingAnswer(BigCheese, RoomState.ProbeSession(Room, BigCheese, check).Stanza, "result")));
    }

    [Fact]
    public void Outside_a_resync_or_for_another_hosts_user_an_entry_nobody_asked_for_is_still_refused_without_a_check()
    {
        Assert.Equal([BigCheese], Apply(EnterItem(BigCheese, "BigCheese")).Refused);
        Assert.Equal([WiZ], Resync(EnterItem(WiZ, "WiZ")).Refused);
        Assert.Empty(_state.PendingChecks);
        Assert.Empty(_state.LocalOccupants);
    }

    /// <summary>
    /// Only a new incarnation relearns: once a replica has been in step, an own host's user it does not know in a resync is
    /// one it let go itself (a kick it served during a split, say), and the entry is refused as before.
    /// </summary>
    [Fact]
    public void After_its_first_resync_a_replica_refuses_a_resync_entry_nobody_asked_for()
    {
        Resync(EnterItem(Efchen, "Efchen"));

        Assert.Equal([BigCheese], Resync(EnterItem(BigCheese, "BigCheese")).Refused);
        Assert.Single(_state.PendingChecks);
        Assert.DoesNotContain(BigCheese, _state.LocalOccupants.Keys);
    }

    [Fact]
    public void Deciding_changes_nothing_until_the_events_are_applied()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        var said = Parse($"<message from='{Efchen}' to='{Room}' type='groupchat'><body>alone?</body></message>");
        var leave = Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese' type='unavailable'/>");

        var saying = _state.DecideDuringSplit(said, Now);
        var leaving = _state.DecideDuringSplit(leave, Now);
        var batch = _state.DecideBatch(new ReplicaBatch(Room, OwnHost, _sequence + 1, [Broadcast(GroupchatMessage("Wumpus", "hello"))]));

        Assert.Empty(_state.HeldDuringSplit);
        Assert.Empty(_state.History);
        Assert.Equal(2, _state.LocalOccupants.Count);
        Assert.Equal(_sequence, _state.LastSequence);
        Assert.Equal([typeof(ProvisionalMessageKept), typeof(StanzaHeldDuringSplit)], saying.Events.Select(e => e.GetType()));
        Assert.Equal([new LocalOccupantLeft(BigCheese, "BigCheese"), new StanzaHeldDuringSplit(new HeldStanza(leave, Now))], leaving.Events);
        Assert.Equal(new HashSet<Jid> { BigCheese, Efchen }, batch.Deliveries.Select(d => d.To).ToHashSet());

        _state.Apply(saying);
        _state.Apply(leaving);

        Assert.Equal([said, leave], _state.HeldDuringSplit.Select(held => held.Stanza));
        Assert.True(Assert.Single(_state.History).Provisional);
        Assert.Equal([Efchen], _state.LocalOccupants.Keys);
    }

    [Fact]
    public void The_events_alone_rebuild_the_replica_a_netsplit_and_a_relearnt_user_left_behind()
    {
        _state = new ReplicaRoomState(Room, OwnHost, maxHistory: 3, serving: SplitServing.Default with { MarkOthersAway = true, Entries = true });
        var events = new List<ReplicaRoomEvent>();
        ReplicaOutcome Take(ReplicaOutcome outcome)
        {
            events.AddRange(outcome.Events);
            return _state.Apply(outcome);
        }
        ReplicaOutcome Batch(params ReplicaItem[] items) => Take(_state.DecideBatch(new ReplicaBatch(Room, OwnHost, ++_sequence, items)));
        var third = Jid.Parse("phaedrus@vesa.yeggmaex.irc/desk");

        // A new incarnation's first resync: BigCheese, whom it forgot, is checked and answers.
        var relearning = Take(_state.DecideBatch(new ReplicaBatch(Room, OwnHost, ++_sequence, [EnterItem(BigCheese, "BigCheese")], ResyncOf: "netjoin-1")));
        Take(_state.DecideCheckAnswer(PingAnswer(BigCheese, relearning.Deliveries.Single().Stanza, "result"))!);
        Take(_state.DecideLocalStanza(JoinPresence(Efchen, "Efchen")));
        Batch(EnterItem(Efchen, "Efchen"), Broadcast(OccupantPresence("BigCheese", "admin", "moderator")),
            Broadcast(OccupantPresence("WiZ", "owner", "moderator")),
            Broadcast(Parse($"<message from='{Room}/WiZ' type='groupchat'><body>before</body><stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='sid-1'/></message>"))
                with { Delay = Now });
        // Split: the others go away, a local entry, chat, a kick and a presence change are served and held.
        Take(_state.DecideSplit());
        Take(_state.DecideDuringSplit(JoinPresence(third, "Phaedrus"), Now));
        Take(_state.DecideDuringSplit(Parse($"<message from='{Efchen}' to='{Room}' type='groupchat'><body>during</body></message>"), Now));
        Take(_state.DecideDuringSplit(Parse($"<iq from='{BigCheese}' to='{Room}' type='set' id='k'><query xmlns='http://jabber.org/protocol/muc#admin'>" +
                                            "<item nick='Phaedrus' role='none'/></query></iq>"), Now));
        Take(_state.DecideDuringSplit(Parse($"<presence from='{Efchen}' to='{Room}/Efchen'><show>dnd</show></presence>"), Now));
        Take(new ReplicaOutcome([new HeldStanzasReachedPrimary(2)], []));

        var rebuilt = new ReplicaRoomState(Room, OwnHost, maxHistory: 3);
        foreach (var happened in events) rebuilt.Apply(happened);

        Assert.Equal(2, _state.HeldDuringSplit.Count);
        Assert.Equal(_state.LocalOccupants, rebuilt.LocalOccupants);
        Assert.Equal(_state.Roster, rebuilt.Roster);
        Assert.Equal(_state.History, rebuilt.History);
        Assert.Equal(_state.HeldDuringSplit, rebuilt.HeldDuringSplit);
        Assert.Equal((_state.FirstHeldNumber, _state.LastSequence, _state.LastStanzaId), (rebuilt.FirstHeldNumber, rebuilt.LastSequence, rebuilt.LastStanzaId));
        Assert.True(_state.Receipt().SameAs(rebuilt.Receipt()));
        Assert.Empty(rebuilt.PendingChecks);
    }

    [Fact]
    public void A_receipt_is_due_when_it_says_something_new_and_again_after_a_netjoin_starts()
    {
        Assert.Null(_state.ReceiptDue());
        EnterLocally(BigCheese, "BigCheese");
        var first = _state.ReceiptDue();
        Assert.Equal([BigCheese], first?.Sessions);

        _state.Apply(new ReceiptSent(first!));
        Assert.Null(_state.ReceiptDue());

        Apply(Broadcast(Parse($"<message from='{Room}/Wumpus' type='groupchat'><body>news</body><stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='sid-9'/></message>"))
            with { Delay = Now });
        var second = _state.ReceiptDue();
        Assert.Equal("sid-9", second?.LastStanzaId);
        _state.Apply(new ReceiptSent(second!));
        Assert.Null(_state.ReceiptDue());

        _state.Apply(ReceiptsToBeSentAnew.Instance);
        Assert.True(_state.ReceiptDue()?.SameAs(second!));
    }

    private (IReadOnlyList<Dmuc.Rooms.Delivery> Deliveries, IReadOnlyList<Jid> Refused) Resync(params ReplicaItem[] items) =>
        Taken(new ReplicaBatch(Room, OwnHost, ++_sequence, items, ResyncOf: "netjoin-1"));

    private static XElement PingAnswer(Jid user, XElement ping, string type, string payload = "") =>
        Parse($"<iq from='{user}' to='{Room}' type='{type}' id='{ping.Attribute("id")!.Value}'>{payload}</iq>");

    private (IReadOnlyList<Dmuc.Rooms.Delivery> Deliveries, IReadOnlyList<Jid> Refused) Apply(params ReplicaItem[] items) =>
        Taken(new ReplicaBatch(Room, OwnHost, ++_sequence, items));

    private (IReadOnlyList<Dmuc.Rooms.Delivery> Deliveries, IReadOnlyList<Jid> Refused) Taken(ReplicaBatch batch)
    {
        var applied = _state.Apply(_state.DecideBatch(batch));
        return (applied.Deliveries, applied.Refused);
    }

    private void EnterLocally(Jid user, string nick)
    {
        _state.Apply(_state.DecideLocalStanza(JoinPresence(user, nick)));
        Assert.Empty(Apply(EnterItem(user, nick)).Refused);
    }

    private static ReplicaItem Broadcast(XElement stanza) => new(stanza, null);

    /// <summary>The entering user's own presence, marked as XEP-0282 Listing 2 marks it.</summary>
    private static ReplicaItem EnterItem(Jid user, string nick) =>
        new(Parse($"<presence from='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></presence>"),
            [user], new ReplicaEnter(user, null));

    private static XElement JoinPresence(Jid user, string nick) =>
        Parse($"<presence from='{user}' to='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>");

    private static XElement GroupchatMessage(string nick, string body) =>
        Parse($"<message from='{Room}/{nick}' type='groupchat'><body>{body}</body></message>");

    private static XElement OccupantPresence(string nick, string affiliation, string role) =>
        Parse($"<presence from='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='{affiliation}' role='{role}'/></x></presence>");
}
