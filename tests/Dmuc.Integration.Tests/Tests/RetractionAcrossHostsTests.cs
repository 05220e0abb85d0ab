using System.Xml.Linq;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Xmpp.ArchiveClientSteps;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// Retractions in a room spread over two Prosody hosts (the room's primary on avalon, a replica on killrc): a
/// moderator's (XEP-0425) and an author's own (XEP-0424) reach everyone on both hosts, and the archive read from
/// the replica host shows tombstones where the messages were, and the retractions themselves.
/// </summary>
public sealed class RetractionAcrossHostsTests(ITestOutputHelper output)
{
    private const string MucDomain = "channel.avalon.irc";
    private const string Room = "wallops@" + MucDomain;
    private const string Avalon = "avalon.irc";
    private const string Killrc = "killrc.oulubox.irc";
    private static readonly XNamespace Retract = "urn:xmpp:message-retract:1";
    private static readonly XNamespace Moderate = "urn:xmpp:message-moderate:1";

    [Fact]
    public async Task Retractions_reach_every_host_and_the_archive_keeps_tombstones()
    {
        await using var deployment = await MultiHostEnvironment.StartAsync(MucDomain, Avalon, [Killrc], [$"admin@{Avalon}"]);
        await deployment.PlayAsync(PlayAsync, output.WriteLine);
    }

    private static async Task PlayAsync(MultiHostEnvironment deployment)
    {
        await using var alice = await XmppTestClient.ConnectAsync(deployment.ClientEndpointFor(Avalon)!, $"alice@{Avalon}/laptop", "password");
        await using var wumpus = await XmppTestClient.ConnectAsync(deployment.ClientEndpointFor(Killrc)!, $"argl@{Killrc}/laptop", "password");
        await using var valdis = await XmppTestClient.ConnectAsync(deployment.ClientEndpointFor(Killrc)!, $"valdis@{Killrc}/laptop", "password");
        await alice.JoinRoomAsync(Room, "Alice");
        await alice.ConfigureRoomAsync(Room);
        await wumpus.JoinRoomAsync(Room, "Wumpus");
        await valdis.JoinRoomAsync(Room, "Valdis");

        var spamId = await wumpus.SayAndGetStanzaIdAsync(Room, "DM me for free magic potions!");
        await alice.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, "DM me for free magic potions!"));
        await alice.SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("to", Room), new XAttribute("type", "set"), new XAttribute("id", "moderate"),
            new XElement(Moderate + "moderate", new XAttribute("id", spamId), new XElement(Retract + "retract"), new XElement(Moderate + "reason", "Spam"))));
        Assert.Equal("result", (string?)(await alice.ReceiveUntilAsync(IsReplyTo("moderate")))[^1].Attribute("type"));
        foreach (var client in new[] { wumpus, valdis })
        {
            var announcement = (await client.ReceiveUntilAsync(stanza => RetractionOf(stanza) == spamId))[^1];
            Assert.Equal(Room, (string?)announcement.Attribute("from"));
            Assert.Equal($"{Room}/Alice", (string?)announcement.Element(Retract + "retract")!.Element(Moderate + "moderated")?.Attribute("by"));
        }

        var typoId = await valdis.SayAndGetStanzaIdAsync(Room, "wrong channel");
        await valdis.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", Room), new XAttribute("type", "groupchat"),
            new XAttribute("id", "undo"), new XElement(Retract + "retract", new XAttribute("id", typoId)),
            new XElement(XmppNamespaces.Client + "body", "/me retracted a message")));
        foreach (var client in new[] { alice, wumpus, valdis }) await client.ReceiveUntilAsync(stanza => RetractionOf(stanza) == typoId);

        var archive = await wumpus.QueryArchiveAsync(Room, "all", Page(max: 10));
        Assert.Equal(4, archive.Messages.Count);
        Assert.Equal([spamId, typoId], archive.Messages.Where(message => message.Element(Retract + "retracted") is not null)
            .Select(message => (string?)message.Element(XNamespace.Get("urn:xmpp:sid:0") + "stanza-id")?.Attribute("id")));
        Assert.DoesNotContain("potions", string.Concat(archive.Messages));
        Assert.DoesNotContain("wrong channel", string.Concat(archive.Messages));
        Assert.Equal([spamId, typoId], archive.Messages.Select(RetractionOf).OfType<string>());
    }

    private static string? RetractionOf(XElement stanza) => (string?)stanza.Element(Retract + "retract")?.Attribute("id");
}
