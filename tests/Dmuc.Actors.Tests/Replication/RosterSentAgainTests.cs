using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// The roster an entrant on a replica host gets: the presences that replica keeps already go as nicks in one item
/// (docs/protocol/dmuc.md, "Presences sent again"). Driven as the actors drive the pure classes: the room (<see cref="PrimaryRoom"/>), its
/// link to the host (<see cref="ReplicaLinkState"/>), the wire (<see cref="DmucCodec"/>) and the replica (<see cref="ReplicaRoomState"/>);
/// beside it a second replica is fed each batch as the room planned it, every presence in full, and must deliver exactly the same.
/// </summary>
public sealed class RosterSentAgainTests
{
    private const string Vesa = Wallops.Vesa;
    private static readonly Jid Room = Jid.Parse(Wallops.Room);
    private static readonly DateTimeOffset Now = new(1990, 10, 13, 23, 58, 37, TimeSpan.Zero);
    private static readonly ChatUser Owner = new("Trillian", "trillian@avalon.irc/terminal");

    private readonly PrimaryRoom _primary = new(new RoomState(Room, DmucTestCluster.ServiceOptions with { OccupantIds = true }),
        host => host == Vesa, () => true, receiptJournalInterval: TimeSpan.Zero);
    private readonly ReplicaLinkState _link = new(Room, Vesa, resyncPartBytes: 1 << 20);
    private readonly ReplicaRoomState _replica = new(Room, Vesa);
    // Fed what the room planned, as the link sent it before presences went again by nick.
    private readonly ReplicaRoomState _replicaInFull = new(Room, Vesa);
    private readonly List<(ReplicaBatch Sent, IReadOnlyList<Delivery> Delivered)> _batches = [];

    [Fact]
    public void A_joins_roster_is_one_item_and_the_entrant_gets_every_occupants_presence_as_a_full_roster_gives_it()
    {
        Send(RoomRequests.Enter(Owner, Wallops.Room));
        Send(RoomRequests.AcceptDefaultConfiguration(Owner, Wallops.Room));
        var moderator = User(99);
        Send(RoomRequests.SetAffiliation(Owner, Wallops.Room, moderator.BareJid, "admin"));
        for (var i = 1; i <= 24; i++)
        {
            Send(RoomRequests.Enter(i % 4 == 0 ? new ChatUser($"a{i}", $"a{i}@avalon.irc/desk") : User(i), Wallops.Room));
            switch (i)
            {
                case 8:
                    Send(RoomRequests.UpdatePresence(User(3), Wallops.Room, "away"));
                    break;
                case 12:
                    Send(RoomRequests.Enter(moderator, Wallops.Room));
                    break;
                case 16:
                    Send(RoomRequests.ChangeNick(User(5), Wallops.Room, "v5-renamed"));
                    Send(RoomRequests.Leave(User(2), Wallops.Room));
                    break;
                case 20:
                    Send(RoomRequests.SetRole(Owner, Wallops.Room, User(6).Nick, "visitor"));
                    break;
            }
        }
        var entrant = User(100);
        var occupantsBefore = _primary.State.OccupantCount;

        Send(RoomRequests.Enter(entrant, Wallops.Room));

        var (join, delivered) = _batches[^1];
        // Before, one item per occupant: 26 here. Now the presences of the few who entered since the host's last entrant go in full.
        Assert.True(join.Items.Count <= 7, $"the join of the {occupantsBefore + 1}th occupant took {join.Items.Count} batch items");
        var repeated = Assert.Single(join.Items, item => item.Repeats is not null);
        Assert.True(repeated.Repeats!.Count >= occupantsBefore - 2, $"{repeated.Repeats.Count} presences sent again of {occupantsBefore}");

        var presences = delivered.Where(d => d.To == Jid.Parse(entrant.Jid) && d.Stanza.Name == Ns.Client + "presence").Select(d => d.Stanza).ToList();
        Assert.Equal(occupantsBefore + 1, presences.Count);
        Assert.True(presences[^1].HasStatus(110), "the entrant's own presence comes last");
        var roster = presences[..^1];
        var occupants = _primary.State.Sessions.ToDictionary(session => session.Nick);
        Assert.Equal(occupants.Keys.Where(nick => nick != entrant.Nick).Order(StringComparer.Ordinal),
            roster.Select(presence => Jid.Parse(presence.Attribute("from")!.Value).Resource).Order(StringComparer.Ordinal));
        foreach (var presence in roster)
        {
            var item = presence.Element(Ns.MucUser + "x")!.Element(Ns.MucUser + "item")!;
            var occupant = occupants[Jid.Parse(presence.Attribute("from")!.Value).Resource!];
            Assert.Equal((occupant.Role.Wire(), occupant.Affiliation.Wire()), (item.Attribute("role")?.Value, item.Attribute("affiliation")?.Value));
            Assert.Null(item.Attribute("jid"));
            Assert.NotNull(presence.Element(Stanzas.OccupantId + "occupant-id"));
        }
        Assert.Equal("away", roster.Single(p => p.Attribute("from")!.Value.EndsWith("/v3")).Element(Ns.Client + "show")?.Value);
        Assert.Contains(roster, p => p.Attribute("from")!.Value.EndsWith("/v5-renamed"));
        Assert.DoesNotContain(roster, p => p.Attribute("from")!.Value.EndsWith("/v2") || p.Attribute("from")!.Value.EndsWith("/v5"));
        Assert.True(_replica.Roster.Count == _replicaInFull.Roster.Count && _replica.Roster.All(entry => _replicaInFull.Roster[entry.Key] == entry.Value));
    }

    [Fact]
    public void A_replica_without_a_presence_a_batch_names_asks_for_a_netjoin_and_a_moderator_entrant_still_sees_real_jids()
    {
        Send(RoomRequests.Enter(Owner, Wallops.Room));
        Send(RoomRequests.AcceptDefaultConfiguration(Owner, Wallops.Room));
        for (var i = 1; i <= 5; i++) Send(RoomRequests.Enter(User(i), Wallops.Room));

        // A new life of the replica's node knows no presence: the roster that names one is not guessed at.
        var forgetful = new ReplicaRoomState(Room, Vesa);
        var entrant = User(6);
        forgetful.Handle(new LocalStanzaArrived(RoomRequests.Enter(entrant, Wallops.Room), LinkState.Linked, Now));
        Send(RoomRequests.Enter(entrant, Wallops.Room));
        var join = _batches[^1].Sent;
        Assert.Contains(join.Items, item => item.Repeats is not null);
        var outcome = forgetful.Handle(new BatchFromPrimary(OverTheWire(join), LinkState.Linked, Now));
        Assert.NotNull(outcome.Netjoin);
        Assert.Empty(outcome.Deliveries);

        var moderator = User(99);
        Send(RoomRequests.SetAffiliation(Owner, Wallops.Room, moderator.BareJid, "admin"));
        Send(RoomRequests.Enter(moderator, Wallops.Room));

        var roster = _batches[^1].Delivered.Where(d => d.To == Jid.Parse(moderator.Jid) && d.Stanza.Name == Ns.Client + "presence").SkipLast(1).ToList();
        Assert.Equal(7, roster.Count);
        Assert.All(roster, d => Assert.NotNull(d.Stanza.Element(Ns.MucUser + "x")!.Element(Ns.MucUser + "item")!.Attribute("jid")));
    }

    /// <summary>Mixed releases (docs/protocol/dmuc.md): a replica that does not know &lt;roster/&gt; reads the item as delivered to nobody.</summary>
    [Fact]
    public void A_replica_of_an_older_release_delivers_nothing_for_a_roster_item()
    {
        var item = new ReplicaItem(new XElement(Ns.Client + "presence", new XAttribute("from", Wallops.Room)), [Jid.Parse(User(1).Jid)],
            Repeats: ["v2", "v3"]);
        var xml = DmucCodec.ItemToXml(item, Vesa);

        xml.Descendants(Ns.Dmuc + "roster").Remove();
        var asOlderReleasesRead = DmucCodec.ItemFromXml(xml);

        Assert.Equal([], asOlderReleasesRead.Recipients);
        Assert.Null(asOlderReleasesRead.Repeats);
    }

    private static ChatUser User(int i) => new($"v{i}", $"v{i}@{Vesa}/phone");

    /// <summary>A user's stanza: the primary's own host's straight to the room, a vesa user's through both replicas (the first one's forward).</summary>
    private void Send(XElement stanza)
    {
        if (Jid.Parse(stanza.Attribute("from")!.Value).Domain != Vesa)
        {
            Ship(_primary.Decide(new HandleStanza(stanza, Now)).Outgoing);
            return;
        }
        var arrived = new LocalStanzaArrived(stanza, LinkState.Linked, Now);
        _replicaInFull.Handle(arrived);
        foreach (var forward in _replica.Handle(arrived).Forwards)
        {
            var relayed = _primary.Relayed(new HandleStanza(forward.Stanza, Now), new RelayedBy(Vesa, forward.Number!));
            Ship(relayed.Decided!.Outgoing);
        }
    }

    /// <summary>The vesa batch through the link to the one replica, and as planned to the other: both deliver the same.</summary>
    private void Ship(Outgoing outgoing)
    {
        var ack = outgoing.Ack is { Host: Vesa } acknowledged ? acknowledged.Ack : null;
        if (outgoing.Plan.ByHost.GetValueOrDefault(Vesa) is not { } items)
        {
            if (ack is not null) _replica.Handle(new AcknowledgementFromPrimary(ack, LinkState.Linked));
            return;
        }
        var sent = Assert.IsType<ReplicaBatch>(Assert.Single(_link.Handle(new RoomItemsArrived(new ReplicaLink.ReplicateToHost(items, ack),
            LinkState.Linked, HostHasNode: true)).ToReplica));
        var taken = _replica.Handle(new BatchFromPrimary(OverTheWire(sent), LinkState.Linked, Now));
        var inFull = _replicaInFull.Handle(new BatchFromPrimary(OverTheWire(new ReplicaBatch(Room, Vesa, sent.Sequence, items, Ack: ack)),
            LinkState.Linked, Now));
        Assert.Null(taken.Netjoin);
        Assert.Equal(Described(inFull.Deliveries), Described(taken.Deliveries));
        _batches.Add((sent, taken.Deliveries));
    }

    private static ReplicaBatch OverTheWire(ReplicaBatch batch) =>
        (ReplicaBatch)DmucCodec.FromXml(XElement.Parse(DmucCodec.ToXml(batch).ToString(SaveOptions.DisableFormatting)));

    private static IReadOnlyList<string> Described(IEnumerable<Delivery> deliveries) =>
        [.. deliveries.Select(delivery => $"{delivery.To} {delivery.Stanza.ToString(SaveOptions.DisableFormatting)}")];
}
