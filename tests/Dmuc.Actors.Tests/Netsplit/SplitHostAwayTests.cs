using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// The primary's optional "show the split host's users away" (XEP-0282 §4.11.1 MAY, docs/protocol/netjoin.md §2),
/// on a <see cref="SplitRoomModel"/>: killrc splits while Trillian (avalon) and BigCheese (vesa) stay.
/// </summary>
public sealed class SplitHostAwayTests
{
    private readonly SplitRoomModel _room = new(Wallops.Room, Avalon, Killrc, Vesa);
    private readonly SplitHostAway _away = new();

    [Fact]
    public void Everyone_elsewhere_sees_each_occupant_of_the_split_host_away_as_the_room_presents_them()
    {
        Populate(Trillian, Wumpus, Valdis, BigCheese);
        _room.Send(RoomStanzas.Parse($"<presence from='{Valdis.Jid}' to='{Wallops.Room}/{Valdis.Nick}'><show>dnd</show><status>compiling</status></presence>"));
        var asTheRoomShowsThem = Presences(_room.Primary.PresenceOf(Wumpus.Nick, [Jid.Parse(Trillian.Jid), Jid.Parse(BigCheese.Jid)])
            .Concat(_room.Primary.PresenceOf(Valdis.Nick, [Jid.Parse(Trillian.Jid), Jid.Parse(BigCheese.Jid)])));

        var away = Presences(_away.HostSplit(_room.Primary, Killrc));

        Assert.Equal(asTheRoomShowsThem.Keys.Order(), away.Keys.Order());
        foreach (var (recipientAndNick, presence) in away)
        {
            Assert.Equal("away", presence.Element(Ns.Client + "show")?.Value);
            // Affiliation, role and the real JID (shown to the moderator only) are the room's own view.
            Assert.True(XNode.DeepEquals(asTheRoomShowsThem[recipientAndNick].Element(Ns.MucUser + "x"), presence.Element(Ns.MucUser + "x")));
        }
        Assert.Equal("compiling", away[(Trillian.Jid, Valdis.Nick)].Element(Ns.Client + "status")?.Value);
        Assert.Equal(SplitHostAway.SplitStatus, away[(BigCheese.Jid, Wumpus.Nick)].Element(Ns.Client + "status")?.Value);
        Assert.Equal([Killrc], _away.SplitHosts);
        // Transient: the room itself still has them as they were.
        Assert.Null(_room.Primary.PresenceOf(Wumpus.Nick, [Jid.Parse(Trillian.Jid)]).Single().Stanza.Element(Ns.Client + "show"));
        Assert.Equal("dnd", _room.Primary.PresenceOf(Valdis.Nick, [Jid.Parse(Trillian.Jid)]).Single().Stanza.Element(Ns.Client + "show")?.Value);
    }

    [Fact]
    public void A_host_split_again_before_it_rejoined_is_not_announced_twice()
    {
        Populate(Trillian, Wumpus, BigCheese);
        Assert.NotEmpty(_away.HostSplit(_room.Primary, Killrc));

        Assert.Empty(_away.HostSplit(_room.Primary, Killrc));
    }

    [Fact]
    public void On_rejoin_those_who_saw_them_away_and_are_still_there_see_the_occupants_still_there_as_they_are()
    {
        Populate(Trillian, Wumpus, Valdis, BigCheese);
        _room.Cut(Killrc);
        _away.HostSplit(_room.Primary, Killrc);
        _room.Send(Leave(Valdis, Wallops.Room));
        _room.Send(UpdatePresence(Wumpus, Wallops.Room, "chat"));
        _room.Send(Leave(BigCheese, Wallops.Room));
        _room.Send(Enter(Efchen, Wallops.Room));
        // The netjoin processes what killrc's users did alone before the room hears the host rejoined.
        _room.Netjoin(Killrc);

        var back = _away.HostRejoined(_room.Primary, Killrc);

        var presence = Assert.Single(back);
        Assert.Equal(Jid.Parse(Trillian.Jid), presence.To);
        Assert.Equal($"{Wallops.Room}/{Wumpus.Nick}", presence.Stanza.Attribute("from")?.Value);
        Assert.Equal("chat", presence.Stanza.Element(Ns.Client + "show")?.Value);
        Assert.Empty(_away.SplitHosts);
        Assert.Empty(_away.HostRejoined(_room.Primary, Killrc));
    }

    [Fact]
    public void A_host_with_nobody_in_the_room_or_nobody_elsewhere_to_tell_is_not_marked()
    {
        Populate(Wumpus, Valdis);
        Assert.Empty(_away.HostSplit(_room.Primary, Killrc));
        Assert.Empty(_away.HostSplit(_room.Primary, Vesa));

        Assert.Empty(_away.SplitHosts);
    }

    /// <summary>(recipient, nick) → the presence the recipient gets of that occupant.</summary>
    private static Dictionary<(string Recipient, string Nick), XElement> Presences(IEnumerable<Delivery> deliveries) =>
        deliveries.ToDictionary(delivery => (delivery.To.ToString(), Jid.Parse(delivery.Stanza.Attribute("from")!.Value).Resource!),
            delivery => delivery.Stanza);

    private void Populate(params ChatUser[] users) => _room.Populate(users);
}
