using System.Xml.Linq;
using Dmuc.Actors.Replication;
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

    private readonly ReplicaRoomState _state = new(Room, OwnHost, maxHistory: 3);
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
        _state.RecordLocalStanza(JoinPresence(BigCheese, "BigCheese"));

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
        _state.RecordLocalStanza(JoinPresence(BigCheese, "BigCheese"));
        _state.RecordLocalStanza(Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese' type='unavailable'/>"));

        var (_, refused) = Apply(EnterItem(BigCheese, "BigCheese"));

        Assert.Equal([BigCheese], refused);
    }

    [Fact]
    public void An_entry_for_another_hosts_user_is_refused_even_with_directed_presence()
    {
        _state.RecordLocalStanza(JoinPresence(WiZ, "WiZ"));

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
        Assert.Equal("moderator", wumpus.Value.Role);
    }

    [Fact]
    public void A_leave_during_a_split_gives_the_leaver_110_and_the_other_local_occupants_the_leave_and_is_held()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        Apply(Broadcast(OccupantPresence("BigCheese", "member", "participant")));
        var leave = Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese' type='unavailable'/>");

        var deliveries = _state.ServeDuringSplit(leave);

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
        Assert.Same(leave, Assert.Single(_state.HeldDuringSplit));
    }

    [Fact]
    public void A_leave_to_the_bare_room_during_a_split_is_a_leave_too()
    {
        EnterLocally(BigCheese, "BigCheese");

        var deliveries = _state.ServeDuringSplit(Parse($"<presence from='{BigCheese}' to='{Room}' type='unavailable'/>"));

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

        var deliveries = _state.ServeDuringSplit(away);

        var own = Assert.Single(deliveries, d => d.To == BigCheese).Stanza;
        var seen = Assert.Single(deliveries, d => d.To == Efchen).Stanza;
        Assert.True(own.HasStatus(110));
        Assert.Equal(BigCheese.ToString(), own.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item")?.Attribute("jid")?.Value);
        Assert.Null(seen.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item")?.Attribute("jid"));
        Assert.All(new[] { own, seen }, presence => Assert.Equal("away", presence.Element(Ns.Client + "show")?.Value));
        Assert.Equal(new RosterEntry("BigCheese", "none", "moderator", "away", null), _state.Roster["BigCheese"]);
        Assert.Equal(2, _state.LocalOccupants.Count);
        Assert.Same(away, Assert.Single(_state.HeldDuringSplit));
    }

    [Theory]
    [InlineData("<message from='{user}' to='{room}' type='groupchat' id='lonely'><body>anyone there?</body></message>")]
    [InlineData("<message from='{user}' to='{room}/Efchen' type='chat' id='lonely'><body>psst</body></message>")]
    [InlineData("<presence from='{user}' to='{room}/NewNick' id='lonely'/>")]
    [InlineData("<iq from='{user}' to='{room}' type='get' id='lonely'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")]
    public void Anything_else_during_a_split_is_answered_with_the_documented_error_and_not_held(string template)
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        var stanza = Parse(template.Replace("{user}", BigCheese.ToString()).Replace("{room}", Room.ToString()));

        var error = Assert.Single(_state.ServeDuringSplit(stanza));

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
        var error = Assert.Single(_state.ServeDuringSplit(JoinPresence(Efchen, "Efchen")));

        Assert.True(error.Stanza.IsError("remote-server-timeout"));
        Assert.Empty(_state.LocalOccupants);
        Assert.Empty(_state.HeldDuringSplit);
    }

    [Fact]
    public void Errors_and_results_during_a_split_are_dropped_without_an_answer()
    {
        EnterLocally(BigCheese, "BigCheese");

        Assert.Empty(_state.ServeDuringSplit(Parse($"<iq from='{BigCheese}' to='{Room}/Efchen' type='result' id='r'/>")));
        Assert.Empty(_state.ServeDuringSplit(Parse($"<message from='{BigCheese}' to='{Room}' type='error' id='e'/>")));
    }

    [Fact]
    public void Held_stanzas_keep_their_numbers_when_a_netjoin_carried_the_first_of_them()
    {
        EnterLocally(BigCheese, "BigCheese");
        EnterLocally(Efchen, "Efchen");
        _state.ServeDuringSplit(Parse($"<presence from='{BigCheese}' to='{Room}/BigCheese'><show>away</show></presence>"));
        _state.ServeDuringSplit(Parse($"<presence from='{Efchen}' to='{Room}/Efchen' type='unavailable'/>"));

        _state.ForgetHeld(1);

        Assert.Equal(2, _state.FirstHeldNumber);
        Assert.Equal(Efchen.ToString(), Assert.Single(_state.HeldDuringSplit).Attribute("from")?.Value);

        _state.ForgetHeld(5);

        Assert.Empty(_state.HeldDuringSplit);
        Assert.Equal(3, _state.FirstHeldNumber);
    }

    private (IReadOnlyList<Dmuc.Rooms.Delivery> Deliveries, IReadOnlyList<Jid> Refused) Apply(params ReplicaItem[] items) =>
        _state.ApplyBatch(new ReplicaBatch(Room, OwnHost, ++_sequence, items));

    private void EnterLocally(Jid user, string nick)
    {
        _state.RecordLocalStanza(JoinPresence(user, nick));
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
