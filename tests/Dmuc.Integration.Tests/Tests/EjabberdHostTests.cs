using System.Xml.Linq;
using Dmuc.Integration.Tests.Ejabberd;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using Xunit.Abstractions;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// ejabberd as one host of a DMUC deployment, beside a Prosody host: its ejabberd_service listener takes the MUC
/// domain's component, served by a Dmuc node that is the room's primary in one case and a replica in the other.
/// Users log in at ejabberd and at Prosody and meet in one room; the hosts have no s2s, so all they see of each
/// other crossed the Dmuc cluster.
/// </summary>
public sealed class EjabberdHostTests(ITestOutputHelper output)
{
    private const string MucDomain = "channel.avalon.irc";
    private const string Room = "wallops@" + MucDomain;
    private const string PrimaryHost = "avalon.irc";
    private const string ReplicaHost = "killrc.oulubox.irc";
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(15);

    [EjabberdTheory]
    [Trait("Category", "Ejabberd")]
    [InlineData(PrimaryHost, ReplicaHost)]
    [InlineData(ReplicaHost, PrimaryHost)]
    public async Task Users_on_ejabberd_and_on_Prosody_share_a_room(string ejabberdHost, string prosodyHost)
    {
        await using var deployment = await MultiHostEnvironment.StartAsync(MucDomain, PrimaryHost, [ReplicaHost], [$"admin@{PrimaryHost}"],
            ejabberdHosts: [ejabberdHost]);
        await deployment.PlayAsync(started => PlayRoomLifeAsync(started, ejabberdHost, prosodyHost), output.WriteLine);
    }

    private static async Task PlayRoomLifeAsync(MultiHostEnvironment deployment, string ejabberdHost, string prosodyHost)
    {
        await using var romeo = await XmppTestClient.ConnectAsync(deployment.ClientEndpointFor(ejabberdHost)!, $"romeo@{ejabberdHost}/balcony", "password");
        await using var juliet = await XmppTestClient.ConnectAsync(deployment.ClientEndpointFor(prosodyHost)!, $"juliet@{prosodyHost}/garden", "password");

        // Entry: Romeo (ejabberd) creates and unlocks the room; Juliet (Prosody) enters and gets him in her roster.
        var romeoEntry = await romeo.JoinRoomAsync(Room, "Romeo", Step);
        Assert.Contains(romeoEntry, stanza => IsPresenceFrom(stanza, "Romeo") && MucClientSteps.HasStatus(stanza, 201) && MucClientSteps.HasStatus(stanza, 110));
        await romeo.ConfigureRoomAsync(Room);

        var julietEntry = await juliet.JoinRoomAsync(Room, "Juliet", Step);
        AssertRoster(julietEntry, self: "Juliet", others: ["Romeo"]);
        Assert.Equal("owner", ItemOf(julietEntry.Single(stanza => IsPresenceFrom(stanza, "Romeo")))?.Attribute("affiliation")?.Value);
        await romeo.ReceiveUntilAsync(stanza => IsPresenceFrom(stanza, "Juliet") && (string?)stanza.Attribute("type") is null, Step);

        // Groupchat both ways.
        await romeo.SayAsync(Room, "But soft, what light through yonder window breaks?");
        await AssertReceivesGroupchatAsync(juliet, "Romeo", "But soft, what light through yonder window breaks?");
        await juliet.SayAsync(Room, "Wherefore art thou Romeo?");
        await AssertReceivesGroupchatAsync(romeo, "Juliet", "Wherefore art thou Romeo?");

        // Private messages both ways, through the room's occupant JIDs.
        await SendPrivateAsync(romeo, "Juliet", "Shall I hear more?");
        await AssertReceivesPrivateAsync(juliet, "Romeo", "Shall I hear more?");
        await SendPrivateAsync(juliet, "Romeo", "Thou knowest the mask of night is on my face.");
        await AssertReceivesPrivateAsync(romeo, "Juliet", "Thou knowest the mask of night is on my face.");

        // Presence change on ejabberd, seen on Prosody.
        await romeo.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", $"{Room}/Romeo"),
            new XElement(XmppNamespaces.Client + "show", "away"), new XElement(XmppNamespaces.Client + "status", "under the balcony")));
        var away = (await juliet.ReceiveUntilAsync(stanza => IsPresenceFrom(stanza, "Romeo") && stanza.Element(XmppNamespaces.Client + "show") is not null, Step))[^1];
        Assert.Equal("away", away.Element(XmppNamespaces.Client + "show")!.Value);
        Assert.Equal("under the balcony", away.Element(XmppNamespaces.Client + "status")?.Value);

        // A late joiner on ejabberd gets the roster and the history, with its delays, in order.
        await using var mercutio = await XmppTestClient.ConnectAsync(deployment.ClientEndpointFor(ejabberdHost)!, $"mercutio@{ejabberdHost}/street", "password");
        var mercutioEntry = await mercutio.JoinRoomAsync(Room, "Mercutio", Step);
        AssertRoster(mercutioEntry, self: "Mercutio", others: ["Juliet", "Romeo"]);
        var history = mercutioEntry.Where(stanza => stanza.Element(XmppNamespaces.Client + "body") is not null).ToList();
        Assert.Equal(["But soft, what light through yonder window breaks?", "Wherefore art thou Romeo?"],
            history.Select(stanza => stanza.Element(XmppNamespaces.Client + "body")!.Value));
        Assert.All(history, stanza => Assert.NotNull(stanza.Element(MucClientSteps.Delay + "delay")));
        Assert.Equal([$"{Room}/Romeo", $"{Room}/Juliet"], history.Select(stanza => (string?)stanza.Attribute("from")));

        // Leave from ejabberd: Romeo gets his own unavailable presence (110); Juliet on Prosody and Mercutio see him go.
        await romeo.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", $"{Room}/Romeo"), new XAttribute("type", "unavailable")));
        var romeoLeft = (await romeo.ReceiveUntilAsync(stanza => IsUnavailableFrom(stanza, "Romeo"), Step))[^1];
        Assert.True(MucClientSteps.HasStatus(romeoLeft, 110), romeoLeft.ToString());
        await juliet.ReceiveUntilAsync(stanza => IsUnavailableFrom(stanza, "Romeo"), Step);
        await mercutio.ReceiveUntilAsync(stanza => IsUnavailableFrom(stanza, "Romeo"), Step);

        // Leave from Prosody by closing the stream: Prosody tells the room on Juliet's behalf; Mercutio on ejabberd sees it.
        await juliet.DisconnectAsync();
        await mercutio.ReceiveUntilAsync(stanza => IsUnavailableFrom(stanza, "Juliet"), Step);
    }

    /// <summary>Everyone already there (any order), then the newcomer itself with status 110, as XEP-0045 §7.2.3 asks.</summary>
    private static void AssertRoster(List<XElement> entry, string self, IReadOnlyList<string> others)
    {
        var presences = entry.Where(stanza => stanza.Name == XmppNamespaces.Client + "presence").ToList();
        var selfIndex = presences.FindIndex(stanza => IsPresenceFrom(stanza, self));
        Assert.True(selfIndex >= 0, $"no self-presence for {self} in:\n{string.Join("\n", entry)}");
        Assert.True(MucClientSteps.HasStatus(presences[selfIndex], 110), presences[selfIndex].ToString());
        Assert.Equal(others.Order(StringComparer.Ordinal),
            presences.Take(selfIndex).Select(stanza => ((string)stanza.Attribute("from")!).Split('/', 2)[1]).Order(StringComparer.Ordinal));
    }

    private static async Task AssertReceivesGroupchatAsync(XmppTestClient client, string fromNick, string body)
    {
        var message = (await client.ReceiveUntilAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, body), Step))[^1];
        Assert.Equal($"{Room}/{fromNick}", (string?)message.Attribute("from"));
    }

    private static Task SendPrivateAsync(XmppTestClient client, string toNick, string body) =>
        client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", $"{Room}/{toNick}"), new XAttribute("type", "chat"),
            new XElement(XmppNamespaces.Client + "body", body), new XElement(MucClientSteps.MucUser + "x")));

    private static async Task AssertReceivesPrivateAsync(XmppTestClient client, string fromNick, string body)
    {
        var message = (await client.ReceiveUntilAsync(stanza => stanza.Name == XmppNamespaces.Client + "message" &&
            stanza.Element(XmppNamespaces.Client + "body")?.Value == body, Step))[^1];
        Assert.Equal($"{Room}/{fromNick}", (string?)message.Attribute("from"));
        Assert.Equal("chat", (string?)message.Attribute("type"));
        Assert.Equal(client.FullJid, (string?)message.Attribute("to"));
    }

    private static bool IsPresenceFrom(XElement stanza, string nick) =>
        stanza.Name == XmppNamespaces.Client + "presence" && (string?)stanza.Attribute("from") == $"{Room}/{nick}";

    private static bool IsUnavailableFrom(XElement stanza, string nick) =>
        IsPresenceFrom(stanza, nick) && (string?)stanza.Attribute("type") == "unavailable";

    private static XElement? ItemOf(XElement presence) => presence.Element(MucClientSteps.MucUser + "x")?.Element(MucClientSteps.MucUser + "item");
}
