using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>The service's disco#items pages through its public rooms with XEP-0059 (the rule the archive's paging reads too).</summary>
public sealed class ServiceDiscoPagingTests
{
    private static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";
    private static readonly MucServiceOptions Options = new("conference.localhost", new HashSet<Jid>()) { DiscoItemsPageSize = 100 };

    // room000 … room249, in JID order as the directory keeps them.
    private static readonly RoomListing[] Rooms = Enumerable.Range(0, 250)
        .Select(i => new RoomListing(Jid.Parse($"room{i:000}@conference.localhost"), $"Room {i}", 0)).ToArray();

    [Fact]
    public void Without_paging_a_client_gets_the_first_page_and_a_set_saying_how_many_there_are()
    {
        var (items, set) = Ask(null);

        Assert.Equal(Names(0, 100), items);
        Assert.Equal("250", set!.Element(Rsm + "count")?.Value);
        Assert.Equal(RoomJid(0), set.Element(Rsm + "first")?.Value);
        Assert.Equal(RoomJid(99), set.Element(Rsm + "last")?.Value);
    }

    [Fact]
    public void Without_paging_a_list_that_fits_one_page_is_answered_as_it_always_was()
    {
        var reply = Reply(null, Rooms[..3]);
        Assert.Equal(3, reply.Descendants(Ns.DiscoItems + "item").Count());
        Assert.Null(reply.Descendants(Rsm + "set").SingleOrDefault());
    }

    [Fact]
    public void Following_last_walks_every_room_once_in_order()
    {
        List<string> seen = [];
        string? after = null;
        for (var page = 0; page < 10; page++)
        {
            var (items, set) = Ask(after is null ? "<max>30</max>" : $"<max>30</max><after>{after}</after>");
            seen.AddRange(items);
            if (items.Count < 30) break;
            after = set!.Element(Rsm + "last")!.Value;
        }
        Assert.Equal(Names(0, 250), seen);
    }

    [Fact]
    public void Before_pages_backwards_and_an_empty_before_asks_for_the_last_page()
    {
        var (last, lastSet) = Ask("<max>10</max><before/>");
        Assert.Equal(Names(240, 10), last);
        Assert.Equal(RoomJid(240), lastSet!.Element(Rsm + "first")?.Value);

        var (previous, _) = Ask($"<max>10</max><before>{RoomJid(240)}</before>");
        Assert.Equal(Names(230, 10), previous);
    }

    [Fact]
    public void An_index_jumps_into_the_list()
    {
        var (items, set) = Ask("<max>5</max><index>120</index>");
        Assert.Equal(Names(120, 5), items);
        Assert.Equal(RoomJid(120), set!.Element(Rsm + "first")?.Value);
    }

    [Fact]
    public void Max_zero_asks_for_the_count_alone()
    {
        var (items, set) = Ask("<max>0</max>");
        Assert.Empty(items);
        Assert.Equal("250", set!.Element(Rsm + "count")?.Value);
        Assert.Null(set.Element(Rsm + "first"));
    }

    [Fact]
    public void A_larger_max_than_the_operator_allows_gets_the_operator_page_size()
    {
        var (items, set) = Ask("<max>100000</max>");
        Assert.Equal(100, items.Count);
        Assert.Equal(RoomJid(99), set!.Element(Rsm + "last")?.Value);
    }

    [Fact]
    public void Paging_goes_on_after_a_room_destroyed_since_the_last_page()
    {
        var withoutRoom10 = Rooms.Where(room => room.Room.Local != "room010").ToArray();
        var (items, _) = Ask($"<max>3</max><after>{RoomJid(10)}</after>", withoutRoom10);
        Assert.Equal(Names(11, 3), items);

        var (pastTheEnd, set) = Ask("<max>3</max><after>zzz@conference.localhost</after>");
        Assert.Empty(pastTheEnd);
        Assert.Equal("250", set!.Element(Rsm + "count")?.Value);
    }

    [Theory]
    [InlineData("<max>ten</max>")]
    [InlineData("<max>-1</max>")]
    [InlineData("<index>x</index>")]
    public void A_malformed_set_is_a_bad_request(string set)
    {
        var reply = Reply(set, Rooms);
        Assert.Equal("error", reply.Attribute("type")?.Value);
        Assert.NotNull(reply.Descendants(Ns.Stanzas + "bad-request").SingleOrDefault());
        Assert.Equal("modify", reply.Element(Ns.Client + "error")?.Attribute("type")?.Value);
    }

    [Fact]
    public void The_archive_reads_the_same_set_and_still_refuses_an_index()
    {
        var room = Jid.Parse("room000@conference.localhost");
        XElement Query(string set) => TestRoom.Stanza(
            $"<iq from='romeo@localhost/a' to='{room}' type='set' id='q'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>{set}</set></query></iq>");

        var (query, _, _) = ArchiveQuery.Read(room, Jid.Parse("romeo@localhost/a"), Query("<max>7</max><after>x</after>"));
        Assert.Equal((7, "x", false), (query!.Max, query.After, query.FromEnd));
        Assert.Equal(StanzaErrorCondition.BadRequest, ArchiveQuery.Read(room, Jid.Parse("romeo@localhost/a"), Query("<max>ten</max>")).Problem);
        Assert.Equal(StanzaErrorCondition.FeatureNotImplemented, ArchiveQuery.Read(room, Jid.Parse("romeo@localhost/a"), Query("<index>2</index>")).Problem);
    }

    private static string RoomJid(int i) => $"room{i:000}@conference.localhost";

    private static List<string> Names(int from, int count) => Enumerable.Range(from, count).Select(RoomJid).ToList();

    private static (List<string> Items, XElement? Set) Ask(string? set, RoomListing[]? rooms = null)
    {
        var reply = Reply(set, rooms ?? Rooms);
        Assert.Equal("result", reply.Attribute("type")?.Value);
        return (reply.Descendants(Ns.DiscoItems + "item").Select(item => item.Attribute("jid")!.Value).ToList(),
            reply.Descendants(Rsm + "set").SingleOrDefault());
    }

    private static XElement Reply(string? set, RoomListing[] rooms)
    {
        var paging = set is null ? "" : $"<set xmlns='http://jabber.org/protocol/rsm'>{set}</set>";
        var request = TestRoom.Stanza($"<iq from='romeo@localhost/a' to='conference.localhost' type='get' id='items'><query xmlns='http://jabber.org/protocol/disco#items'>{paging}</query></iq>");
        return Assert.Single(MucService.HandleServiceStanza(request, rooms, Options)).Stanza;
    }
}
