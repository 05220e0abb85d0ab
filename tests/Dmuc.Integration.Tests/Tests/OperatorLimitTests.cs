using System.Xml.Linq;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Xunit;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// The limits a node applies by default to what one user does, seen by real clients through Prosody: every stanza
/// sent gets exactly one outcome, delivered or refused with policy-violation.
/// </summary>
public sealed class OperatorLimitTests
{
    private const string Service = "conference.localhost";
    private static readonly MucServiceOptions Defaults = new(Service, new HashSet<Jid>());
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_user_flooding_a_room_is_refused_each_message_beyond_the_rate_and_the_room_sees_only_the_others()
    {
        const string room = "verona@conference.localhost";
        await using var environment = await MucTestEnvironment.StartAsync(DmucUnderTest.Muc);
        await using var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x");
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        await romeo.JoinRoomAsync(room, "Romeo");
        await romeo.ConfigureRoomAsync(room);
        await juliet.JoinRoomAsync(room, "Juliet");
        var ids = Enumerable.Range(0, 3 * Defaults.OccupantStanzaRate!.Burst).Select(index => $"flood-{index}").ToList();

        foreach (var id in ids)
        {
            await romeo.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", room), new XAttribute("type", "groupchat"),
                new XAttribute("id", id), new XElement(XmppNamespaces.Client + "body", id)));
        }

        var outcomes = await OneOutcomeEachAsync(romeo, ids, stanza => (string?)stanza.Attribute("id"));
        var refused = outcomes.Where(outcome => IsError(outcome.Value)).ToList();
        var delivered = outcomes.Keys.Except(refused.Select(outcome => outcome.Key)).ToHashSet();
        Assert.InRange(delivered.Count, Defaults.OccupantStanzaRate.Burst, ids.Count - 1);
        Assert.All(refused, outcome => AssertPolicyViolation(outcome.Value, "wait", "wait a moment"));
        var seenByJuliet = await juliet.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, ids.Last(delivered.Contains)));
        Assert.Equal(delivered.Order(), seenByJuliet.Where(stanza => stanza.Name.LocalName == "message" && (string?)stanza.Attribute("type") == "groupchat")
            .Select(stanza => stanza.Element(XmppNamespaces.Client + "body")!.Value).Order());
    }

    [Fact]
    public async Task A_user_creating_rooms_in_a_burst_is_refused_beyond_the_creation_rate()
    {
        await using var environment = await MucTestEnvironment.StartAsync(DmucUnderTest.Muc);
        await using var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x");
        var occupantJids = Enumerable.Range(0, 2 * Defaults.RoomCreationRate!.Burst).Select(index => $"room{index}@{Service}/Romeo").ToList();

        foreach (var occupantJid in occupantJids)
            await romeo.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", occupantJid), new XElement(MucClientSteps.Muc + "x")));

        var outcomes = await OneOutcomeEachAsync(romeo, occupantJids,
            stanza => stanza.Name.LocalName == "presence" && (IsError(stanza) || HasStatus(stanza, 201)) ? (string?)stanza.Attribute("from") : null);
        var refused = outcomes.Values.Where(IsError).ToList();
        // The rate refills one room every six seconds: a slow machine may let one more through.
        Assert.InRange(outcomes.Count - refused.Count, Defaults.RoomCreationRate.Burst, Defaults.RoomCreationRate.Burst + 1);
        Assert.All(refused, error => AssertPolicyViolation(error, "wait", "creating rooms faster"));
    }

    /// <summary>
    /// What each of <paramref name="keys"/> came to, by the key <paramref name="keyOf"/> reads off a stanza (null for
    /// stanzas that are not an outcome); a second outcome for a key fails the test.
    /// </summary>
    private static async Task<Dictionary<string, XElement>> OneOutcomeEachAsync(XmppTestClient client, IReadOnlyList<string> keys,
        Func<XElement, string?> keyOf)
    {
        var outcomes = new Dictionary<string, XElement>();
        while (outcomes.Count < keys.Count)
        {
            var stanza = await client.ReceiveAsync(Patience);
            if (keyOf(stanza) is { } key && keys.Contains(key)) outcomes.Add(key, stanza);
        }
        var late = await client.TryReceiveAsync(TimeSpan.FromMilliseconds(500));
        Assert.False(late is not null && keyOf(late) is { } lateKey && keys.Contains(lateKey), $"a second outcome: {late}");
        return outcomes;
    }

    private static bool IsError(XElement stanza) => (string?)stanza.Attribute("type") == "error";

    private static void AssertPolicyViolation(XElement stanza, string type, string textPart)
    {
        var error = stanza.Element(XmppNamespaces.Client + "error");
        Assert.NotNull(error?.Element(Ns.Stanzas + "policy-violation"));
        Assert.Equal(type, (string?)error.Attribute("type"));
        Assert.Contains(textPart, error.Element(Ns.Stanzas + "text")?.Value);
    }
}
