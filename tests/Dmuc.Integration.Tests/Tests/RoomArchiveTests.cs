using System.Xml.Linq;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// XEP-0313 on rooms, asked by real clients through Prosody: on one node, and with every client on a replica host
/// (the room's primary is another node behind another Prosody, so each query crosses the cluster and back).
/// </summary>
public sealed class RoomArchiveTests
{
    private const string Room = "archive@conference.localhost";
    private static readonly XNamespace Mam = "urn:xmpp:mam:2";
    private static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";
    private static readonly XNamespace Forward = "urn:xmpp:forward:0";
    private static readonly XNamespace StanzaIds = "urn:xmpp:sid:0";

    public static TheoryData<string> Deployments => ["one node", "replica host"];

    private static MucUnderTest Deployment(string name) => name == "one node" ? DmucUnderTest.Muc : DmucUnderTest.Replicated;

    [Theory]
    [MemberData(nameof(Deployments))]
    public async Task A_user_pages_back_through_the_room_archive_and_forward_again_by_id(string deployment)
    {
        await using var environment = await MucTestEnvironment.StartAsync(Deployment(deployment));
        await using var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x");
        await romeo.JoinRoomAsync(Room, "Romeo");
        await romeo.ConfigureRoomAsync(Room, ("muc#roomconfig_historylength", "2"));
        var liveIds = new List<string>();
        for (var i = 1; i <= 7; i++) liveIds.Add(await SayAndGetStanzaIdAsync(romeo, $"line {i}"));

        // Juliet is not in the room: an open room's archive is for anyone who could enter.
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        var last = await QueryAsync(juliet, "q1", new XElement(Rsm + "set", new XElement(Rsm + "max", 3), new XElement(Rsm + "before")));
        Assert.Equal(["line 5", "line 6", "line 7"], last.Bodies);
        Assert.Equal(liveIds[4..], last.Ids);
        Assert.False(last.Complete);
        Assert.Equal("4", (string?)last.Set.Element(Rsm + "first")?.Attribute("index"));
        Assert.Equal("7", last.Set.Element(Rsm + "count")?.Value);

        var earlier = await QueryAsync(juliet, "q2", new XElement(Rsm + "set", new XElement(Rsm + "max", 3), new XElement(Rsm + "before", last.Ids[0])));
        Assert.Equal(["line 2", "line 3", "line 4"], earlier.Bodies);
        var first = await QueryAsync(juliet, "q3", new XElement(Rsm + "set", new XElement(Rsm + "max", 3), new XElement(Rsm + "before", earlier.Ids[0])));
        Assert.Equal(["line 1"], first.Bodies);
        Assert.True(first.Complete);

        var after = await QueryAsync(juliet, "q4", new XElement(Rsm + "set", new XElement(Rsm + "after", liveIds[4])));
        Assert.Equal(["line 6", "line 7"], after.Bodies);
        Assert.True(after.Complete);

        // What the archive shows is what the room showed: from room/nick, no real JID in a semi-anonymous room.
        Assert.All(after.Messages, message =>
        {
            Assert.Equal($"{Room}/Romeo", (string?)message.Attribute("from"));
            Assert.DoesNotContain("romeo@localhost", message.ToString());
            Assert.NotNull(message.Parent!.Element(MucClientSteps.Delay + "delay"));
        });
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public async Task Queries_filter_by_form_fields_and_a_bad_query_or_a_closed_archive_gets_an_error(string deployment)
    {
        await using var environment = await MucTestEnvironment.StartAsync(Deployment(deployment));
        await using var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x");
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        await romeo.JoinRoomAsync(Room, "Romeo");
        await romeo.ConfigureRoomAsync(Room);
        await juliet.JoinRoomAsync(Room, "Juliet");
        await romeo.SayAsync(Room, "from Romeo");
        var julietsId = await SayAndGetStanzaIdAsync(juliet, "from Juliet");

        var withJuliet = await QueryAsync(romeo, "w", Form(("with", $"{Room}/Juliet")));
        Assert.Equal(["from Juliet"], withJuliet.Bodies);
        var byIds = await QueryAsync(romeo, "ids", Form(("ids", julietsId)));
        Assert.Equal(["from Juliet"], byIds.Bodies);
        var future = await QueryAsync(romeo, "start", Form(("start", DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"))));
        Assert.Empty(future.Bodies);
        Assert.True(future.Complete);

        Assert.Equal("item-not-found", await ErrorOfAsync(romeo, "unknown", new XElement(Rsm + "set", new XElement(Rsm + "after", "no-such-id"))));
        Assert.Equal("feature-not-implemented", await ErrorOfAsync(romeo, "field", Form(("{urn:example}search", "Juliet"))));
        Assert.Equal("bad-request", await ErrorOfAsync(romeo, "time", Form(("start", "yesterday"))));

        await romeo.ConfigureRoomAsync(Room, ("muc#roomconfig_enablearchiving", "0"));
        Assert.Equal("feature-not-implemented", await ErrorOfAsync(juliet, "closed"));
    }

    private sealed record ArchivePage(List<XElement> Messages, List<string> Ids, bool Complete, XElement Set)
    {
        public List<string> Bodies => Messages.Select(message => message.Element(XmppNamespaces.Client + "body")!.Value).ToList();
    }

    private static async Task<string> SayAndGetStanzaIdAsync(XmppTestClient client, string body)
    {
        await client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", Room), new XAttribute("type", "groupchat"),
            new XElement(XmppNamespaces.Client + "body", body)));
        var echo = (await client.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, body)))[^1];
        return (string)echo.Element(StanzaIds + "stanza-id")!.Attribute("id")!;
    }

    private static XElement Form(params (string Field, string Value)[] fields) =>
        new(DataForms + "x", new XAttribute("type", "submit"),
            new XElement(DataForms + "field", new XAttribute("var", "FORM_TYPE"), new XElement(DataForms + "value", "urn:xmpp:mam:2")),
            fields.Select(field => new XElement(DataForms + "field", new XAttribute("var", field.Field), new XElement(DataForms + "value", field.Value))));

    private static Task SendQueryAsync(XmppTestClient client, string id, params XElement[] content) =>
        client.SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("to", Room), new XAttribute("type", "set"), new XAttribute("id", id),
            new XElement(Mam + "query", new XAttribute("queryid", id), content)));

    /// <summary>Runs a query and collects its results up to the final iq, which must be a result with &lt;fin/&gt;.</summary>
    private static async Task<ArchivePage> QueryAsync(XmppTestClient client, string id, params XElement[] content)
    {
        await SendQueryAsync(client, id, content);
        var received = await client.ReceiveUntilAsync(IsReplyTo(id));
        var fin = received[^1].Element(Mam + "fin") ?? throw new InvalidOperationException($"No <fin/> in {received[^1]}");
        var results = received.Select(stanza => stanza.Element(Mam + "result")).OfType<XElement>()
            .Where(result => (string?)result.Attribute("queryid") == id).ToList();
        return new ArchivePage(
            results.Select(result => result.Element(Forward + "forwarded")!.Element(XmppNamespaces.Client + "message")!).ToList(),
            results.Select(result => (string)result.Attribute("id")!).ToList(),
            (string?)fin.Attribute("complete") == "true",
            fin.Element(Rsm + "set")!);
    }

    private static async Task<string?> ErrorOfAsync(XmppTestClient client, string id, params XElement[] content)
    {
        await SendQueryAsync(client, id, content);
        var reply = (await client.ReceiveUntilAsync(IsReplyTo(id)))[^1];
        Assert.Equal("error", (string?)reply.Attribute("type"));
        return reply.Element(XmppNamespaces.Client + "error")?.Elements().First().Name.LocalName;
    }
}
