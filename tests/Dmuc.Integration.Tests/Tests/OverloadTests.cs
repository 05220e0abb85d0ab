using System.Xml.Linq;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Xmpp;
using Dmuc.Xmpp.Tests;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// A real node behind a server that stops reading the component stream while its users flood a room: the node's output
/// queue goes over its budget (Dmuc:MaxQueuedBytes). Every message is then either delivered to every occupant or refused
/// to its sender with wait/resource-constraint; none is lost, and the stream is never cut.
/// </summary>
public sealed class OverloadTests
{
    private const string Room = "flood@" + FakeComponentServer.Domain;
    private const int Occupants = 20;
    private const int Messages = 1_500;
    private const int QueueBudget = 1024 * 1024;
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(60);
    private static readonly string Body = new('w', 1_000);

    [Fact]
    public async Task A_flood_behind_a_server_that_stops_reading_is_delivered_or_refused_to_its_senders_never_lost()
    {
        using var server = new FakeComponentServer();
        var accepted = server.AcceptAsync();
        await using var node = await InProcessDmucNode.StartAsync(
            new ComponentEndpoint("127.0.0.1", server.Options().Port, FakeComponentServer.Domain, FakeComponentServer.Secret, []),
            new Dictionary<string, string?>
            {
                ["Dmuc:MaxStanzaBytes"] = "16384",
                ["Dmuc:MaxQueuedBytes"] = QueueBudget.ToString(),
                ["Dmuc:Multicast:Enabled"] = "false",
                ["Dmuc:Limits:OccupantStanzasPerSecond"] = "0",
            }, CancellationToken.None);
        Assert.True(await accepted.WaitAsync(Step));
        await EnterAllAsync(server);
        server.Received.Clear();

        // The server takes the flood but reads none of the node's output until all of it has been sent.
        for (var i = 0; i < Messages; i++)
        {
            await server.SendAsync($"<message from='{User(i % Occupants)}' to='{Room}' type='groupchat' id='m{i}'><body>{Body}</body></message>");
        }
        var outcomes = new Dictionary<string, XElement>();
        var looked = 0;
        Assert.True(await server.ReadUntilAsync(() =>
        {
            for (; looked < server.Received.Count; looked++) RecordOutcome(outcomes, server.Received[looked]);
            return outcomes.Count == Messages;
        }).WaitAsync(Step), "the node closed the stream");

        var refused = outcomes.Values.Where(outcome => outcome.Attribute("type")!.Value == "error").ToList();
        var delivered = outcomes.Keys.Except(refused.Select(error => error.Attribute("id")!.Value)).ToHashSet();
        // The last outcome can be an echo with later occupants' copies of it still in the stream: read until they
        // are all in (a copy that never comes fails the comparison below once the wait is over).
        var (scanned, copiesRead) = (0, 0);
        await Task.WhenAny(server.ReadUntilAsync(() =>
        {
            for (; scanned < server.Received.Count; scanned++)
                if (IsGroupchat(server.Received[scanned])) copiesRead++;
            return copiesRead >= delivered.Count * Occupants;
        }), Task.Delay(Step));
        Assert.NotEmpty(refused);
        Assert.NotEmpty(delivered);
        Assert.All(refused, error =>
        {
            var condition = error.Element(Ns.Client + "error")!;
            Assert.Equal("wait", condition.Attribute("type")!.Value);
            Assert.NotNull(condition.Element(Ns.Stanzas + "resource-constraint"));
        });
        // Each accepted message reaches every occupant exactly once, and nobody receives a refused one.
        var copies = GroupchatCopies(server);
        var everyone = Enumerable.Range(0, Occupants).Select(User).Order().ToList();
        Assert.Equal(delivered.Order(), copies.Keys.Order());
        Assert.All(copies.Values, recipients => Assert.Equal(everyone, recipients));
    }

    private static string User(int index) => $"u{index}@localhost/r";

    private static bool IsGroupchat(XElement stanza) => stanza.Name.LocalName == "message" && stanza.Attribute("type")?.Value == "groupchat";

    /// <summary>Each groupchat message the server received, by id, with its recipients in order.</summary>
    private static Dictionary<string, List<string>> GroupchatCopies(FakeComponentServer server) => server.Received
        .Where(IsGroupchat)
        .GroupBy(stanza => stanza.Attribute("id")!.Value)
        .ToDictionary(group => group.Key, group => group.Select(stanza => stanza.Attribute("to")!.Value).Order().ToList());

    /// <summary>The first occupant creates the room and makes it instant; the others enter; all see their own presence.</summary>
    private static async Task EnterAllAsync(FakeComponentServer server)
    {
        await server.SendAsync(EnterPresence(0));
        await server.SendAsync($"<iq type='set' from='{User(0)}' to='{Room}' id='instant'><query xmlns='http://jabber.org/protocol/muc#owner'>" +
                               "<x xmlns='jabber:x:data' type='submit'/></query></iq>");
        Assert.True(await server.ReadUntilAsync(() => server.Received.Any(stanza => stanza.Attribute("id")?.Value == "instant"))
            .WaitAsync(Step));
        Assert.Equal("result", server.Received.Single(stanza => stanza.Attribute("id")?.Value == "instant").Attribute("type")!.Value);
        for (var i = 1; i < Occupants; i++) await server.SendAsync(EnterPresence(i));
        Assert.True(await server.ReadUntilAsync(() => server.Received.Count(IsSelfPresence) == Occupants).WaitAsync(Step));
    }

    private static string EnterPresence(int index) =>
        $"<presence from='{User(index)}' to='{Room}/u{index}'><x xmlns='http://jabber.org/protocol/muc'/></presence>";

    private static bool IsSelfPresence(XElement stanza) =>
        stanza.Name.LocalName == "presence" && stanza.Descendants().Any(child => child.Name.LocalName == "status" && child.Attribute("code")?.Value == "110");

    /// <summary>A message's outcome is what its sender got back: its own echo, or an error.</summary>
    private static void RecordOutcome(Dictionary<string, XElement> outcomes, XElement stanza)
    {
        if (stanza.Name.LocalName != "message" || stanza.Attribute("id")?.Value is not { } id || outcomes.ContainsKey(id)) return;
        var sender = User(int.Parse(id[1..]) % Occupants);
        if (stanza.Attribute("to")?.Value == sender) outcomes[id] = stanza;
    }
}
