using System.Xml.Linq;
using Dmuc.Actors.Component;
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
        Take(new LocalStanzaArrived(JoinPresence(BigCheese, "BigCheese"), LinkState.Linked, Now));

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
        Take(new LocalStanzaArrived(JoinPresence(BigCheese, "BigCheese"), LinkState.Linked, Now));
        Take(new LocalStanzaArrived(Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese' type='unavailable'/>"), LinkState.Linked, Now));

        var (_, refused) = Apply(EnterItem(BigCheese, "BigCheese"));

        Assert.Equal([BigCheese], refused);
    }

    [Fact]
    public void An_entry_for_another_hosts_user_is_refused_even_with_directed_presence()
    {
        Take(new LocalStanzaArrived(JoinPresence(WiZ, "WiZ"), LinkState.Linked, Now));

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

        var deliveries = Take(new LocalStanzaArrived(leave, LinkState.Split, Now)).Deliveries;

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

        var deliveries = Take(new LocalStanzaArrived(Parse($"<presence from='{BigCheese}' to='{Room}' type='unavailable'/>"), LinkState.Split, Now)).Deliveries;

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

        var deliveries = Take(new LocalStanzaArrived(away, LinkState.Split, Now)).Deliveries;

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

        var error = Assert.Single(Take(new LocalStanzaArrived(stanza, LinkState.Split, Now)).Deliveries);

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
        var error = Assert.Single(Take(new LocalStanzaArrived(JoinPresence(Efchen, "Efchen"), LinkState.Split, Now)).Deliveries);

        Assert.True(error.Stanza.IsError("remote-server-timeout"));
        Assert.Empty(_state.LocalOccupants);
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void Errors_and_results_during_a_split_are_dropped_without_an_answer()
    {
        EnterLocally(BigCheese, "BigCheese");

        Assert.Empty(Take(new LocalStanzaArrived(Parse($"<iq from='{BigCheese}' to='{Room}/Efchen' type='result' id='r'/>"), LinkState.Split, Now)).Deliveries);
        Assert.Empty(Take(new LocalStanzaArrived(Parse($"<message from='{BigCheese}' to='{Room}' type='error' id='e'/>"), LinkState.Split, Now)).Deliveries);
    }

    [Fact]
    public void Held_stanzas_keep_their_numbers_when_a_netjoin_carried_the_first_of_them()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        Take(new LocalStanzaArrived(Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese'><show>away</show></presence>"), LinkState.Split, Now));
        Take(new LocalStanzaArrived(Parse($"<presence from='{Efchen}' to='{Room}/Efchen' type='unavailable'/>"), LinkState.Split, Now));

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

        var deliveries = Take(new LocalStanzaArrived(said, LinkState.Split, Now)).Deliveries;

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

        var deliveries = Take(new LocalStanzaArrived(Parse(
            $"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>off the record</body><no-store xmlns='urn:xmpp:hints'/></message>"), LinkState.Split, Now)).Deliveries;

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

        var error = Assert.Single(Take(new LocalStanzaArrived(Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>hi</body></message>"), LinkState.Split, Now)).Deliveries);

        Assert.True(error.Stanza.IsError("forbidden"));
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void A_message_the_room_keeps_without_a_body_during_a_split_is_kept_and_held_as_the_room_would_keep_it()
    {
        EnterLocally(BigCheese, "BigCheese");
        var marker = Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/></message>");

        Assert.Single(Take(new LocalStanzaArrived(marker, LinkState.Split, Now)).Deliveries);

        Assert.True(Assert.Single(_state.History).Provisional);
        Assert.Same(marker, Assert.Single(_state.HeldDuringSplit).Stanza);
    }

    [Fact]
    public void Local_chat_during_a_split_drops_a_legacy_delay_claiming_to_come_from_the_room()
    {
        EnterLocally(BigCheese, "BigCheese");

        var relayed = Assert.Single(Take(new LocalStanzaArrived(Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>old news</body>" +
            $"<x xmlns='jabber:x:delay' from='{Room}' stamp='19901013T23:58:37'/></message>"), LinkState.Split, Now)).Deliveries).Stanza;

        Assert.Null(relayed.Element((XNamespace)"jabber:x:delay" + "x"));
    }

    [Fact]
    public void A_chat_state_during_a_split_is_relayed_but_neither_kept_nor_held()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");

        var deliveries = Take(new LocalStanzaArrived(Parse(
            $"<message from='{BigCheese}' to='{Room}' type='groupchat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"), LinkState.Split, Now)).Deliveries;

        Assert.Equal(2, deliveries.Count);
        Assert.Empty(_state.History);
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void The_netjoins_resync_replaces_the_provisional_history_with_the_primarys_copies_without_delivering_them()
    {
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(GroupchatMessage("Wumpus", "before")) with { Delay = Now.AddMinutes(-1) });
        Take(new LocalStanzaArrived(Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>during</body></message>"), LinkState.Split, Now));
        var primarysCopy = Parse($"<message from='{Room}/BigCheese' type='groupchat'><body>during</body>" +
                                 $"<stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='sid-during'/></message>");

        var (deliveries, _) = Resync(new ReplicaItem(primarysCopy, [], Delay: Now));

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

        var delivery = Assert.Single(Take(new LocalStanzaArrived(
            Parse($"<message from='{BigCheese}' to='{Room}/Efchen' type='chat' id='psst'><body>psst</body></message>"), LinkState.Split, Now)).Deliveries);

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

        var deliveries = Take(new LocalStanzaArrived(kick, LinkState.Split, Now)).Deliveries;

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

        var error = Assert.Single(Take(new LocalStanzaArrived(Parse($"<iq from='{BigCheese}' to='{Room}' type='set' id='kick1'>" +
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Efchen' role='none'/></query></iq>"), LinkState.Split, Now)).Deliveries);

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

        var deliveries = Take(new LocalStanzaArrived(Parse($"<iq from='{BigCheese}' to='{Room}' type='set' id='kick1'>" +
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Efchen' role='none'/></query></iq>"), LinkState.Split, Now)).Deliveries;

        Assert.True(Assert.Single(deliveries, d => d.To == Efchen).Stanza.HasStatus(307));
        Assert.False(_state.LocalOccupants.ContainsKey(Efchen));
        Assert.Single(_state.HeldDuringSplit);
    }

    [Fact]
    public void A_kick_of_an_occupant_on_another_host_during_a_split_gets_the_split_error()
    {
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(OccupantPresence("BigCheese", "owner", "moderator")), Broadcast(OccupantPresence("WiZ", "none", "participant")));

        var error = Assert.Single(Take(new LocalStanzaArrived(Parse($"<iq from='{BigCheese}' to='{Room}' type='set' id='kick1'>" +
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='WiZ' role='none'/></query></iq>"), LinkState.Split, Now)).Deliveries);

        Assert.True(error.Stanza.IsError("remote-server-timeout"));
    }

    [Fact]
    public void Marking_others_away_shows_every_non_local_occupant_away_once_and_remembers_it_for_the_netjoin()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { MarkOthersAway = true });
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        Apply(Broadcast(OccupantPresence("BigCheese", "none", "participant")), Broadcast(OccupantPresence("WiZ", "owner", "moderator")));

        var deliveries = Take(new LinkSplit(Now)).Deliveries;

        Assert.Equal(new HashSet<Jid> { BigCheese, Efchen }, deliveries.Select(d => d.To).ToHashSet());
        Assert.All(deliveries, d => Assert.Equal($"{Room}/WiZ", d.Stanza.Attribute("from")?.Value));
        Assert.Equal("away", deliveries[0].Stanza.Element(Ns.Client + "show")?.Value);
        Assert.Equal("moderator", deliveries[0].Stanza.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item")?.Attribute("role")?.Value);
        Assert.Equal(new RosterEntry("WiZ", Affiliation.Owner, Role.Moderator, "away", SplitHostAway.SplitStatus), _state.Roster["WiZ"]);
        Assert.Empty(Take(new LinkSplit(Now)).Deliveries);
    }

    [Fact]
    public void Marking_others_away_keeps_their_own_status_text_as_the_primary_does()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { MarkOthersAway = true });
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(Parse($"<presence from='{Room}/WiZ'><status>gone fishing</status>" +
            "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x></presence>")));

        var away = Assert.Single(Take(new LinkSplit(Now)).Deliveries).Stanza;

        Assert.Equal(("away", "gone fishing"), (away.Element(Ns.Client + "show")?.Value, away.Element(Ns.Client + "status")?.Value));
    }

    [Fact]
    public void Others_are_not_marked_away_by_default()
    {
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(OccupantPresence("WiZ", "owner", "moderator")));

        Assert.Empty(Take(new LinkSplit(Now)).Deliveries);
    }

    [Fact]
    public void An_entry_during_a_split_when_allowed_gets_the_roster_its_own_presence_and_the_history_and_is_held()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { Entries = true });
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(OccupantPresence("BigCheese", "none", "participant")), Broadcast(OccupantPresence("WiZ", "owner", "moderator")));
        Apply(Broadcast(GroupchatMessage("WiZ", "before")) with { Delay = Now.AddMinutes(-1) });
        var join = JoinPresence(Efchen, "Efchen");

        var deliveries = Take(new LocalStanzaArrived(join, LinkState.Split, Now)).Deliveries;

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

        var deliveries = Take(new LocalStanzaArrived(Parse($"<presence from='{Efchen}' to='{Room}/Efchen'>" +
            "<x xmlns='http://jabber.org/protocol/muc'><history seconds='600'/></x></presence>"), LinkState.Split, Now)).Deliveries;

        Assert.Equal(["a minute ago"], deliveries.Where(d => d.To == Efchen).Select(d => d.Stanza.Element(Ns.Client + "body")?.Value).OfType<string>());
    }

    [Fact]
    public void An_entry_during_a_split_under_a_nick_in_the_roster_gets_a_conflict()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { Entries = true });
        EnterLocally(BigCheese, "BigCheese");
        Apply(Broadcast(OccupantPresence("WiZ", "owner", "moderator")));

        var error = Assert.Single(Take(new LocalStanzaArrived(JoinPresence(Efchen, "WiZ"), LinkState.Split, Now)).Deliveries);

        Assert.True(error.Stanza.IsError("conflict"));
        Assert.Equal($"{Room}/WiZ", error.Stanza.Attribute("from")?.Value);
        Assert.False(_state.LocalOccupants.ContainsKey(Efchen));
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void An_entry_during_a_split_into_a_replica_without_local_occupants_gets_the_split_error_even_when_allowed()
    {
        _state = new ReplicaRoomState(Room, OwnHost, serving: SplitServing.Default with { Entries = true });

        Assert.True(Assert.Single(Take(new LocalStanzaArrived(JoinPresence(Efchen, "Efchen"), LinkState.Split, Now)).Deliveries).Stanza.IsError("remote-server-timeout"));
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

        var answer = _state.Handle(new LocalStanzaArrived(PingAnswer(BigCheese, ping.Stanza, "result"), LinkState.Linked, Now));

        Assert.Empty(answer.Forwards);
        Assert.Empty(answer.SessionsGone);
        Assert.Equal(["110", "missed"], answer.Deliveries.Select(d => d.Stanza.Element(Ns.Client + "body")?.Value
            ?? d.Stanza.Descendants(Ns.MucUser + "status").Single().Attribute("code")!.Value));
        Assert.All(answer.Deliveries, d => Assert.Equal(BigCheese, d.To));
        Assert.Empty(_state.PendingChecks);
        Assert.Empty(_state.Handle(new SessionCheckTimedOut(check, LinkState.Linked, Now)).Forwards);
        Assert.Equal([BigCheese], Apply(Broadcast(GroupchatMessage("Wumpus", "after"))).Deliveries.Select(d => d.To));
    }

    /// <summary>
    /// The resync brings a relearnt user the messages after the room's receipt of this host; those the node's previous incarnation
    /// had handed them before it died, their server says (docs/protocol/delivered.md), and they are not sent again.
    /// </summary>
    [Fact]
    public void A_relearnt_user_gets_only_the_messages_after_the_last_one_their_server_says_it_handed_them()
    {
        _state.Apply(_state.Process(new OwnServerAnswered(new LastDelivered(new Dictionary<Jid, string> { [BigCheese] = "s2" }))).Events.Single());
        var (deliveries, _) = Resync(EnterItem(BigCheese, "BigCheese"),
            Broadcast(KeptMessage("Wumpus", "one", "s1")), Broadcast(KeptMessage("Wumpus", "two", "s2")), Broadcast(KeptMessage("WiZ", "three", "s3")));

        var answer = _state.Handle(new LocalStanzaArrived(PingAnswer(BigCheese, deliveries.Single().Stanza, "result"), LinkState.Linked, Now));

        Assert.Equal(["110", "three"], answer.Deliveries.Select(d => d.Stanza.Element(Ns.Client + "body")?.Value
            ?? d.Stanza.Descendants(Ns.MucUser + "status").Single().Attribute("code")!.Value));
    }

    [Fact]
    public void A_relearnt_user_their_server_does_not_name_or_names_with_a_message_not_in_the_resync_gets_all_of_it()
    {
        _state.Apply(_state.Process(new OwnServerAnswered(new LastDelivered(new Dictionary<Jid, string> { [Efchen] = "before-the-receipt" }))).Events.Single());
        Assert.Empty(_state.Process(new OwnServerAnswered(null)).Events);
        var (deliveries, _) = Resync(EnterItem(BigCheese, "BigCheese"), EnterItem(Efchen, "Efchen"),
            Broadcast(KeptMessage("Wumpus", "one", "s1")), Broadcast(KeptMessage("Wumpus", "two", "s2")));

        var ping = deliveries.First().Stanza;
        var answers = new[] { BigCheese, Efchen }.Select(user =>
            _state.Handle(new LocalStanzaArrived(PingAnswer(user, ping, "result"), LinkState.Linked, Now)).Deliveries);

        Assert.All(answers, delivered => Assert.Equal(["one", "two"], delivered.Select(d => d.Stanza.Element(Ns.Client + "body")?.Value).OfType<string>()));
    }

    [Fact]
    public void A_forgotten_user_whose_server_answers_the_ping_with_an_error_is_dropped_gets_nothing_and_the_error_goes_to_the_room()
    {
        var (deliveries, _) = Resync(EnterItem(BigCheese, "BigCheese"), Broadcast(GroupchatMessage("Wumpus", "missed")));
        var error = PingAnswer(BigCheese, deliveries.Single().Stanza, "error",
            "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>");

        var answer = _state.Handle(new LocalStanzaArrived(error, LinkState.Linked, Now));

        Assert.Same(error, Assert.Single(answer.Forwards).Stanza);
        Assert.Equal([BigCheese], answer.SessionsGone);
        Assert.Empty(answer.Deliveries);
        Assert.Empty(_state.LocalOccupants);
        Assert.Empty(Apply(Broadcast(GroupchatMessage("Wumpus", "after"))).Deliveries);
    }

    [Fact]
    public void A_forgotten_user_who_does_not_answer_the_ping_in_time_is_dropped_and_the_room_gets_a_timeout_error_in_their_name()
    {
        Take(new LocalStanzaArrived(JoinPresence(Efchen, "Efchen"), LinkState.Linked, Now));
        Resync(EnterItem(Efchen, "Efchen"), EnterItem(BigCheese, "BigCheese"));
        var check = Assert.Single(_state.PendingChecks);

        var timedOut = _state.Handle(new SessionCheckTimedOut(check, LinkState.Linked, Now));
        var error = Assert.Single(timedOut.Forwards).Stanza;

        Assert.Equal(BigCheese.ToString(), error.Attribute("from")?.Value);
        Assert.Equal(Room.ToString(), error.Attribute("to")?.Value);
        Assert.True(error.IsError("remote-server-timeout"), error.ToString());
        Assert.True(RoomState.SessionGone(error));
        Assert.Equal([Efchen], _state.LocalOccupants.Keys);
        Assert.Equal([BigCheese], timedOut.SessionsGone);
        // A late answer is no answer any more: it goes to the room as any stanza of theirs.
        var late = PingAnswer(BigCheese, RoomState.ProbeSession(Room, BigCheese, check).Stanza, "result");
        Assert.Same(late, Assert.Single(_state.Process(new LocalStanzaArrived(late, LinkState.Linked, Now)).Forwards).Stanza);
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

        var saying = _state.Process(new LocalStanzaArrived(said, LinkState.Split, Now));
        var leaving = _state.Process(new LocalStanzaArrived(leave, LinkState.Split, Now));
        var batch = _state.Process(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, _sequence + 1, [Broadcast(GroupchatMessage("Wumpus", "hello"))]), LinkState.Linked, Now));

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
        ReplicaOutcome Record(ReplicaRoomCommand command)
        {
            var outcome = _state.Handle(command);
            events.AddRange(outcome.Events);
            return outcome;
        }
        ReplicaOutcome Batch(params ReplicaItem[] items) => Record(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, ++_sequence, items), LinkState.Linked, Now));
        var third = Jid.Parse("phaedrus@vesa.yeggmaex.irc/desk");

        // A new incarnation's first resync: BigCheese, whom it forgot, is checked and answers.
        var netjoin = Record(new NetjoinRequested(LinkState.Split)).Netjoin!.NetjoinId;
        var relearning = Record(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, ++_sequence, [EnterItem(BigCheese, "BigCheese")], ResyncOf: netjoin),
            LinkState.Rejoining, Now));
        Record(new LocalStanzaArrived(PingAnswer(BigCheese, relearning.Deliveries.Single().Stanza, "result"), LinkState.Linked, Now));
        Record(new LocalStanzaArrived(JoinPresence(Efchen, "Efchen"), LinkState.Linked, Now));
        Batch(EnterItem(Efchen, "Efchen"), Broadcast(OccupantPresence("BigCheese", "admin", "moderator")),
            Broadcast(OccupantPresence("WiZ", "owner", "moderator")),
            Broadcast(Parse($"<message from='{Room}/WiZ' type='groupchat'><body>before</body><stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='sid-1'/></message>"))
                with { Delay = Now });
        // Split: the others go away, a local entry, chat, a kick and a presence change are served and held.
        Record(new LinkSplit(Now));
        Record(new LocalStanzaArrived(JoinPresence(third, "Phaedrus"), LinkState.Split, Now));
        Record(new LocalStanzaArrived(Parse($"<message from='{Efchen}' to='{Room}' type='groupchat'><body>during</body></message>"), LinkState.Split, Now));
        Record(new LocalStanzaArrived(Parse($"<iq from='{BigCheese}' to='{Room}' type='set' id='k'><query xmlns='http://jabber.org/protocol/muc#admin'>" +
                                            "<item nick='Phaedrus' role='none'/></query></iq>"), LinkState.Split, Now));
        Record(new LocalStanzaArrived(Parse($"<presence from='{Efchen}' to='{Room}/Efchen'><show>dnd</show></presence>"), LinkState.Split, Now));
        var reached = new HeldStanzasReachedPrimary(2);
        events.Add(reached);
        _state.Apply(reached);

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
        Assert.Equal((1, _state.OldestForwardSentAt, (string?)null), (rebuilt.UnacknowledgedForwards, rebuilt.OldestForwardSentAt, rebuilt.NetjoinId));
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

    [Fact]
    public void One_receipt_is_written_at_a_time_sent_only_once_written_while_linked_and_the_next_waits_for_the_pause()
    {
        EnterLocally(BigCheese, "BigCheese");
        var receipt = _state.ReceiptDue()!;
        var writing = _state.Handle(new ReceiptPauseOver(LinkState.Linked));
        Assert.True(writing.ReceiptToWrite?.SameAs(receipt));
        Assert.Null(_state.ReceiptDue());

        EnterLocally(Efchen, "Efchen");
        Assert.Null(_state.Handle(new ReceiptPauseOver(LinkState.Linked)).ReceiptToWrite);

        var unwritten = _state.Handle(new ReceiptWriteEnded(receipt, Written: false, LinkState.Linked));
        Assert.Null(unwritten.ReceiptToSend);
        Assert.Equal(ReceiptPacing.Retry, unwritten.ReceiptPause);
        Assert.Null(unwritten.ReceiptToWrite);

        var next = _state.Handle(new ReceiptPauseOver(LinkState.Linked)).ReceiptToWrite;
        Assert.Equal([Efchen, BigCheese], next?.Sessions);
        Assert.Null(_state.Handle(new ReceiptWriteEnded(next!, Written: true, LinkState.Split)).ReceiptToSend);
        next = _state.Handle(new ReceiptPauseOver(LinkState.Linked)).ReceiptToWrite;
        var written = _state.Handle(new ReceiptWriteEnded(next!, Written: true, LinkState.Linked));
        Assert.Same(next, written.ReceiptToSend);
        Assert.Equal(ReceiptPacing.Pause, written.ReceiptPause);
        Assert.Null(_state.Handle(new ReceiptPauseOver(LinkState.Linked)).ReceiptToWrite);
        Assert.Null(_state.Handle(new ReceiptPauseOver(LinkState.Split)).ReceiptToWrite);
    }

    [Fact]
    public void A_forward_is_numbered_and_kept_until_acknowledged_and_a_netjoin_reports_what_is_not()
    {
        var state = new ReplicaRoomState(Room, OwnHost, forwardSession: "life-1");
        var hello = Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>hello</body></message>");
        var again = Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>again</body></message>");

        Assert.Equal(new ForwardNumber("life-1", 1, 0), Assert.Single(state.Handle(new LocalStanzaArrived(hello, LinkState.Linked, Now)).Forwards).Number);
        Assert.Equal(new ForwardNumber("life-1", 2, 0), Assert.Single(state.Handle(new LocalStanzaArrived(again, LinkState.Linked, Now.AddSeconds(1))).Forwards).Number);
        state.Handle(new AcknowledgementFromPrimary(new ForwardAck("life-0", 2), LinkState.Linked));
        Assert.Equal(2, state.UnacknowledgedForwards);
        Assert.Equal(Now, state.OldestForwardSentAt);
        state.Handle(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, 1, [], Ack: new ForwardAck("life-1", 1)), LinkState.Linked, Now));
        Assert.Equal(1, state.UnacknowledgedForwards);
        Assert.Equal(Now.AddSeconds(1), state.OldestForwardSentAt);

        state.Handle(new LinkSplit(Now));
        var report = state.Handle(new KeepaliveFromPrimary(1, LinkState.Split)).Netjoin;
        Assert.Equal(new ForwardNumber("life-1", 3, 1), state.Process(new LocalStanzaArrived(hello, LinkState.Linked, Now)).Forwards.Single().Number);
        Assert.Equal(2, report?.Unacknowledged?.First);
        Assert.Equal([again], report!.Unacknowledged!.Stanzas.Select(held => held.Stanza));
    }

    [Fact]
    public void When_a_primary_node_leaves_a_replica_netjoins_at_once_if_forwards_or_its_link_may_have_died_with_it()
    {
        var state = new ReplicaRoomState(Room, OwnHost, forwardSession: "life-1");
        Assert.Null(state.Handle(new PrimaryNodeLeft(LinkState.Linked)).Netjoin);

        var hello = Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>hello</body></message>");
        state.Handle(new LocalStanzaArrived(hello, LinkState.Linked, Now));
        var report = state.Handle(new PrimaryNodeLeft(LinkState.Linked)).Netjoin;
        Assert.Equal([hello], report!.Unacknowledged!.Stanzas.Select(held => held.Stanza));
        Assert.Equal(report.NetjoinId, state.NetjoinId);

        // A netjoin that went to the node that left is answered by nobody: a new one replaces it.
        var again = state.Handle(new PrimaryNodeLeft(LinkState.Rejoining)).Netjoin;
        Assert.NotEqual(report.NetjoinId, again!.NetjoinId);
        Assert.Equal([hello], again.Unacknowledged!.Stanzas.Select(held => held.Stanza));

        var split = new ReplicaRoomState(Room, OwnHost, forwardSession: "life-2");
        split.Handle(new LinkSplit(Now));
        Assert.NotNull(split.Handle(new PrimaryNodeLeft(LinkState.Split)).Netjoin);
    }

    [Fact]
    public void Stanzas_that_arrive_during_a_netjoin_wait_and_go_their_way_in_order_once_it_ends()
    {
        EnterLocally(BigCheese, "BigCheese");
        var first = Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><body>first</body></message>");
        var second = Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese'><show>away</show></presence>");
        var netjoin = _state.Handle(new NetjoinRequested(LinkState.Split)).Netjoin!.NetjoinId;

        Assert.Empty(_state.Handle(new LocalStanzaArrived(first, LinkState.Rejoining, Now)).Forwards);
        Assert.Empty(_state.Handle(new LocalStanzaArrived(second, LinkState.Rejoining, Now)).Forwards);
        Assert.Equal([first, second], _state.WaitingForNetjoin);

        var ignored = _state.Handle(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, ++_sequence, [], ResyncOf: "netjoin-0"), LinkState.Rejoining, Now));
        Assert.Equal(ResyncStep.Ignored, ignored.Resync);
        Assert.Equal(2, _state.WaitingForNetjoin.Count);

        var rejoined = _state.Handle(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, ++_sequence, [], ResyncOf: netjoin), LinkState.Rejoining, Now));
        Assert.Equal(ResyncStep.NetjoinComplete, rejoined.Resync);
        Assert.Equal([first, second], rejoined.Forwards.Select(forward => forward.Stanza));
        // Numbered after the forward of BigCheese's entry.
        Assert.Equal([2L, 3L], rejoined.Forwards.Select(forward => forward.Number!.Number));
        Assert.Empty(_state.WaitingForNetjoin);
        Assert.NotNull(rejoined.ReceiptToWrite);

        _state.Handle(new NetjoinRequested(LinkState.Linked));
        _state.Handle(new LocalStanzaArrived(second, LinkState.Rejoining, Now));
        var split = _state.Handle(new LinkSplit(Now));
        Assert.Empty(split.Forwards);
        Assert.Equal(second, Assert.Single(_state.HeldDuringSplit).Stanza);
        Assert.Null(_state.NetjoinId);
    }

    /// <summary>
    /// What the server hands again after the node's previous life (stream-ack.md §8): marked served, it is held for the room and not
    /// served again, reported at once when linked, and after the netjoin under way otherwise, ahead of what waited for that netjoin;
    /// not marked, it is not served during a split (that life may have forwarded it, and only the room can tell), and waits for the link.
    /// </summary>
    [Fact]
    public void A_stanza_handed_again_is_held_for_the_room_if_served_before_and_otherwise_waits_for_the_link_rather_than_be_served_twice()
    {
        EnterLocally(BigCheese, "BigCheese");
        XElement Said(string body) => Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat' id='{body}'><body>{body}</body></message>");
        var (servedBefore, forwardedBefore, servedBeforeToo, afterwards) = (Said("served"), Said("forwarded"), Said("served too"), Said("afterwards"));

        var heldAgain = _state.Handle(new LocalStanzaArrived(servedBefore, LinkState.Linked, Now, Resent: true, ServedBefore: true));
        Assert.Empty(heldAgain.Deliveries);
        Assert.Empty(heldAgain.Forwards);
        Assert.Equal([new HeldStanza(servedBefore, Now, Resent: true)], heldAgain.Netjoin!.HeldStanzas);

        _state.Handle(new LinkSplit(Now));
        var waiting = _state.Handle(new LocalStanzaArrived(forwardedBefore, LinkState.Split, Now, Resent: true));
        Assert.Empty(waiting.Deliveries);
        Assert.Equal([forwardedBefore], _state.WaitingForNetjoin);

        var netjoin = _state.Handle(new NetjoinRequested(LinkState.Split)).Netjoin!;
        Assert.Single(netjoin.HeldStanzas);
        Assert.Empty(_state.Handle(new LocalStanzaArrived(servedBeforeToo, LinkState.Rejoining, Now, Resent: true, ServedBefore: true)).Deliveries);
        _state.Handle(new LocalStanzaArrived(afterwards, LinkState.Rejoining, Now));
        var rejoined = _state.Handle(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, ++_sequence, [], ResyncOf: netjoin.NetjoinId), LinkState.Rejoining, Now));

        Assert.Equal(ResyncStep.NetjoinComplete, rejoined.Resync);
        Assert.Empty(rejoined.Forwards);
        Assert.Equal([new HeldStanza(servedBeforeToo, Now, Resent: true)], rejoined.Netjoin!.HeldStanzas);
        Assert.Equal([forwardedBefore, afterwards], _state.WaitingForNetjoin);
        var linked = _state.Handle(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, ++_sequence, [], ResyncOf: rejoined.Netjoin.NetjoinId), LinkState.Rejoining, Now));
        Assert.Equal([(forwardedBefore, true), (afterwards, false)], linked.Forwards.Select(forward => (forward.Stanza, forward.Resent)));
    }

    [Fact]
    public void Word_from_the_primary_across_a_split_starts_a_netjoin_and_a_batch_out_of_step_starts_one_saying_why()
    {
        EnterLocally(BigCheese, "BigCheese");

        var heard = _state.Process(new KeepaliveFromPrimary(null, LinkState.Split));
        Assert.Equal((_state.LastSequence, (string?)null), (heard.Netjoin?.LastSequence, heard.NetjoinWhy));
        Assert.Null(_state.NetjoinId);
        Assert.Null(_state.Process(new NetjoinRequested(LinkState.Rejoining)).Netjoin);
        Assert.Null(_state.Process(new KeepaliveFromPrimary(_state.LastSequence, LinkState.Linked)).Netjoin);

        var gap = _state.Handle(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, _sequence + 2, [Broadcast(GroupchatMessage("Wumpus", "lost"))]), LinkState.Linked, Now));
        Assert.Equal($"batch {_sequence + 2} after {_sequence}", gap.NetjoinWhy);
        Assert.Empty(gap.Deliveries);
        Assert.Equal(gap.Netjoin?.NetjoinId, _state.NetjoinId);
    }

    [Fact]
    public void The_local_sessions_are_probed_from_the_room_each_check_under_a_new_id_and_not_at_all_with_nobody_here()
    {
        Assert.Empty(Take(new LocalSessionsCheckDue(LinkState.Linked)).Deliveries);
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");

        var first = Take(new LocalSessionsCheckDue(LinkState.Linked)).Deliveries;
        var second = Take(new LocalSessionsCheckDue(LinkState.Split)).Deliveries;

        Assert.Equal(new HashSet<Jid> { BigCheese, Efchen }, first.Select(d => d.To).ToHashSet());
        Assert.All(first, probe => Assert.NotNull(probe.Stanza.Element(Ns.Ping + "ping")));
        Assert.Equal(first.Select(d => d.Stanza.Attribute("id")!.Value).Distinct(), ["dmuc-probe-1"]);
        Assert.Equal(second.Select(d => d.Stanza.Attribute("id")!.Value).Distinct(), ["dmuc-probe-2"]);
    }

    [Fact]
    public void A_stopping_node_tells_each_local_occupant_332_and_the_room_that_they_left()
    {
        EnterLocally(BigCheese, "BigCheese");

        var stopping = _state.Handle(new NodeStopping(LinkState.Split));

        var told = Assert.Single(stopping.Deliveries);
        Assert.Equal(BigCheese, told.To);
        Assert.Equal(["110", "332"], told.Stanza.Descendants(Ns.MucUser + "status").Select(status => status.Attribute("code")!.Value));
        var leave = Assert.Single(stopping.Forwards);
        Assert.Null(leave.Number);
        Assert.Equal(($"{Room}/BigCheese", "unavailable", BigCheese.ToString()),
            (leave.Stanza.Attribute("to")?.Value, leave.Stanza.Attribute("type")?.Value, leave.Stanza.Attribute("from")?.Value));
    }

    /// <summary>
    /// A stanza its node's server numbered (docs/protocol/stream-ack.md) is settled once the replica holds it nowhere: its forward
    /// acknowledged, the error it got, what it did during a split brought to the room by the netjoin; the receipts come back in
    /// the order their stanzas arrived, as the stream acknowledges.
    /// </summary>
    [Fact]
    public void A_local_stanza_is_held_until_the_primary_has_it_and_its_stream_receipts_come_back_in_order_then()
    {
        EnterLocally(BigCheese, "BigCheese");
        var receipts = new ReplicaStreamReceipts();
        var arrived = 0L;
        (StreamReceipt Receipt, ReplicaOutcome Outcome) Arrive(XElement stanza, LinkState link, bool resent = false)
        {
            var receipt = new StreamReceipt(Akka.Actor.ActorRefs.Nobody, Connection: 1, ++arrived, resent);
            receipts.Arrived(stanza, receipt);
            return (receipt, _state.Handle(new LocalStanzaArrived(stanza, link, Now, resent)));
        }
        IReadOnlyList<StreamReceipt> Settled() => receipts.NoLongerHeld(_state.Holds);
        XElement Said(string body) => Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat' id='{body}'><body>{body}</body></message>");
        var subjectChange = Parse($"<message from='{BigCheese}' to='{Room}' type='groupchat'><subject>new</subject></message>");

        var one = Said("one");
        var (forwarded, forwarding) = Arrive(one, LinkState.Linked, resent: true);
        Assert.True(forwarding.Forwards.Single().Resent);
        Assert.Empty(Settled());
        var number = forwarding.Forwards.Single().Number!;
        _state.Handle(new AcknowledgementFromPrimary(new ForwardAck(number.Session, number.Number), LinkState.Linked));
        Assert.Equal([forwarded], Settled());

        var (refused, _) = Arrive(subjectChange, LinkState.Split);
        Assert.Equal([refused], Settled());

        var (servedAlone, serving) = Arrive(Said("three"), LinkState.Split);
        Assert.Equal([servedAlone], receipts.Of(serving.ServedAndHeld));
        var (refusedBehind, _) = Arrive(new XElement(subjectChange), LinkState.Split);
        Assert.Empty(Settled());

        var netjoin = _state.Handle(new NetjoinRequested(LinkState.Split)).Netjoin!.NetjoinId;
        var (waitedForNetjoin, _) = Arrive(Said("five"), LinkState.Rejoining);
        var rejoined = _state.Handle(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, ++_sequence, [], ResyncOf: netjoin), LinkState.Rejoining, Now));
        Assert.Equal(ResyncStep.NetjoinComplete, rejoined.Resync);
        Assert.Equal([servedAlone, refusedBehind], Settled());

        var released = rejoined.Forwards.Single().Number!;
        _state.Handle(new AcknowledgementFromPrimary(new ForwardAck(released.Session, released.Number), LinkState.Linked));
        Assert.Equal([waitedForNetjoin], Settled());
        Assert.Equal(0, receipts.Count);
    }

    /// <summary>As the replica room does, without the commands that follow and the receipts: what one command decides, applied.</summary>
    private ReplicaOutcome Take(ReplicaRoomCommand command) => _state.Apply(_state.Process(command));

    /// <summary>A netjoin's whole resync with <paramref name="items"/>.</summary>
    private (IReadOnlyList<Dmuc.Rooms.Delivery> Deliveries, IReadOnlyList<Jid> Refused) Resync(params ReplicaItem[] items)
    {
        var netjoin = Take(new NetjoinRequested(LinkState.Split)).Netjoin!.NetjoinId;
        var taken = Take(new BatchFromPrimary(new ReplicaBatch(Room, OwnHost, ++_sequence, items, ResyncOf: netjoin), LinkState.Rejoining, Now));
        Assert.Equal(ResyncStep.NetjoinComplete, taken.Resync);
        return (taken.Deliveries, taken.Refused);
    }

    private static XElement PingAnswer(Jid user, XElement ping, string type, string payload = "") =>
        Parse($"<iq from='{user}' to='{Room}' type='{type}' id='{ping.Attribute("id")!.Value}'>{payload}</iq>");

    private (IReadOnlyList<Dmuc.Rooms.Delivery> Deliveries, IReadOnlyList<Jid> Refused) Apply(params ReplicaItem[] items) =>
        Taken(new ReplicaBatch(Room, OwnHost, ++_sequence, items));

    private (IReadOnlyList<Dmuc.Rooms.Delivery> Deliveries, IReadOnlyList<Jid> Refused) Taken(ReplicaBatch batch)
    {
        var applied = Take(new BatchFromPrimary(batch, LinkState.Linked, Now));
        return (applied.Deliveries, applied.Refused);
    }

    private void EnterLocally(Jid user, string nick)
    {
        Take(new LocalStanzaArrived(JoinPresence(user, nick), LinkState.Linked, Now));
        Assert.Empty(Apply(EnterItem(user, nick)).Refused);
    }

    private static ReplicaItem Broadcast(XElement stanza) => new(stanza, null);

    /// <summary>The entering user's own presence, marked as XEP-0282 Listing 2 marks it.</summary>
    private static ReplicaItem EnterItem(Jid user, string nick) =>
        new(Parse($"<presence from='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></presence>"),
            [user], new ReplicaEnter(user, null));

    private static XElement JoinPresence(Jid user, string nick) =>
        Parse($"<presence from='{user}' to='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>");

    /// <summary>A message as the room sends it, with its stanza-id.</summary>
    private static XElement KeptMessage(string nick, string body, string stanzaId) =>
        Parse($"<message from='{Room}/{nick}' type='groupchat'><body>{body}</body><stanza-id xmlns='urn:xmpp:sid:0' id='{stanzaId}' by='{Room}'/></message>");

    private static XElement GroupchatMessage(string nick, string body) =>
        Parse($"<message from='{Room}/{nick}' type='groupchat'><body>{body}</body></message>");

    private static XElement OccupantPresence(string nick, string affiliation, string role) =>
        Parse($"<presence from='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='{affiliation}' role='{role}'/></x></presence>");
}
