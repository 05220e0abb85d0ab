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
