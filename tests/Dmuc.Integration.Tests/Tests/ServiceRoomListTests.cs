using System.Xml.Linq;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// The service's room list (disco#items) through a real Prosody, paged with XEP-0059: by hand with a c2s client, and by
/// slixmpp's own result set iterator.
/// </summary>
public sealed class ServiceRoomListTests
{
    private const string Service = "conference.localhost";
    private const int PageSize = 4;
    private static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";
    private static readonly XNamespace DiscoItems = "http://jabber.org/protocol/disco#items";

    private static readonly MucUnderTest DmucWithSmallPages = MucUnderTest.ExternalComponent($"Dmuc, {PageSize} rooms a page",
        async (endpoint, cancellationToken) => await InProcessDmucNode.StartAsync(endpoint,
            new Dictionary<string, string?> { ["Dmuc:DiscoItemsPageSize"] = PageSize.ToString() }, cancellationToken));

    // Nine public rooms (within one user's creation burst of ten) and one hidden one.
    private static readonly string[] PublicRooms = Enumerable.Range(1, 9).Select(i => $"room{i}@{Service}").ToArray();

    [Fact]
    public async Task A_client_pages_through_the_public_rooms_and_one_that_does_not_page_gets_the_first_page()
    {
        await using var environment = await MucTestEnvironment.StartAsync(DmucWithSmallPages);
        await using var romeo = await CreateRoomsAsync(environment);
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");

        var unpaged = await AskAsync(juliet, "plain", "");
        Assert.Equal(PublicRooms[..PageSize], Items(unpaged));
        Assert.Equal("9", unpaged.Descendants(Rsm + "count").Single().Value);

        List<string> paged = [];
        var set = "<max>3</max>";
        for (var page = 1; page <= 4; page++)
        {
            var reply = await AskAsync(juliet, $"page{page}", set);
            if (Items(reply) is not { Count: > 0 } items) break;
            paged.AddRange(items);
            set = $"<max>3</max><after>{reply.Descendants(Rsm + "last").Single().Value}</after>";
        }
        Assert.Equal(PublicRooms, paged);

        var countOnly = await AskAsync(juliet, "count", "<max>0</max>");
        Assert.Empty(Items(countOnly));
        Assert.Equal("9", countOnly.Descendants(Rsm + "count").Single().Value);

        var malformed = await AskAsync(juliet, "bad", "<max>many</max>");
        Assert.Equal("error", (string?)malformed.Attribute("type"));
        Assert.NotNull(malformed.Descendants(XName.Get("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas")).SingleOrDefault());
    }

    [Fact]
    public async Task Slixmpp_result_set_iterator_collects_every_public_room_forwards_and_backwards()
    {
        await using var environment = await MucTestEnvironment.StartAsync(DmucWithSmallPages);
        await using var romeo = await CreateRoomsAsync(environment);

        var outcome = await SlixmppClient.RunAsync("slixmpp_service_rooms.py", environment.ClientEndpoint.Host,
            environment.ClientEndpoint.Port.ToString(), "juliet@localhost/slixmpp", "x", Service, "3");

        Assert.False(outcome.TryGetProperty("error", out var error), error.ToString());
        // slixmpp asks for 10 a page; the service gives at most 4, and slixmpp follows <last/> until a page is empty.
        Assert.Equal(PublicRooms, outcome.GetProperty("forward").EnumerateArray().Select(room => room.GetString()));
        Assert.Equal(3, outcome.GetProperty("forward_pages").GetInt32());
        // Backwards, three a page from the end: pages room7–9, room4–6, room1–3, each in order.
        Assert.Equal([.. PublicRooms[6..], .. PublicRooms[3..6], .. PublicRooms[..3]],
            outcome.GetProperty("backward").EnumerateArray().Select(room => room.GetString()));
    }

    private static async Task<XmppTestClient> CreateRoomsAsync(MucTestEnvironment environment)
    {
        var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x");
        foreach (var room in PublicRooms.Reverse())
        {
            await romeo.JoinRoomAsync(room, "Romeo");
            await romeo.ConfigureRoomAsync(room, ("muc#roomconfig_publicroom", "1"));
        }
        return romeo;
    }

    private static async Task<XElement> AskAsync(XmppTestClient client, string id, string set)
    {
        var paging = set.Length == 0 ? "" : $"<set xmlns='{Rsm.NamespaceName}'>{set}</set>";
        await client.SendAsync($"<iq type='get' id='{id}' to='{Service}'><query xmlns='{DiscoItems.NamespaceName}'>{paging}</query></iq>");
        return (await client.ReceiveUntilAsync(IsReplyTo(id)))[^1];
    }

    private static List<string> Items(XElement reply) =>
        reply.Descendants(DiscoItems + "item").Select(item => (string)item.Attribute("jid")!).ToList();
}
