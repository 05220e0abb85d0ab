using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>XEP-0425 moderated retraction and XEP-0424 retraction by the author, and the tombstones they leave.</summary>
public sealed class RetractionTests
{
    private const string Juliet = "juliet@localhost/balcony";
    private const string Romeo = "romeo@localhost/garden";
    private static readonly XNamespace Retract = "urn:xmpp:message-retract:1";
    private static readonly XNamespace Moderate = "urn:xmpp:message-moderate:1";

    [Fact]
    public void A_moderator_retracts_a_message_everyone_is_told_and_entrants_get_a_tombstone()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var spamId = StanzaIdOf(room.Say(Juliet, "DM me for free magic potions!"));

        var decision = room.Send(ModerateIq(TestRoom.Owner, spamId, "<reason>Spam</reason>"));

        var announcement = Assert.Single(decision.To(Juliet));
        DecisionAssertions.Matches($"<message type='groupchat' from='{TestRoom.Room}'><retract xmlns='urn:xmpp:message-retract:1' id='{spamId}' scansion:strict='false'><moderated xmlns='urn:xmpp:message-moderate:1' by='{TestRoom.Room}/Owner' scansion:strict='false'/><reason>Spam</reason></retract></message>", announcement);
        Assert.Equal("result", decision.To(TestRoom.Owner)[^1].Attribute("type")?.Value);
        var retracted = Assert.Single(decision.Events.OfType<MessageRetracted>());
        Assert.Equal((spamId, $"{TestRoom.Room}/Owner", "Spam"), (retracted.StanzaId, retracted.ModeratedBy, retracted.Reason));

        var history = room.Join(Romeo, "Romeo").To(Romeo).Where(stanza => stanza.Element(Ns.Delay + "delay") is not null).ToList();
        Assert.Equal(2, history.Count);
        Assert.Null(history[0].Element(Ns.Client + "body"));
        Assert.NotNull(history[0].Element(Retract + "retracted")?.Element(Moderate + "moderated"));
        Assert.Equal(spamId, history[1].Element(Retract + "retract")?.Attribute("id")?.Value);
        Assert.DoesNotContain("potions", string.Concat(history));
    }

    [Fact]
    public void Only_moderators_may_moderate_and_a_message_the_room_no_longer_keeps_is_looked_up_in_its_archive()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var id = StanzaIdOf(room.Say(TestRoom.Owner, "hello"));
        room.Send(ModerateIq(Juliet, id)).HasError(Juliet, "forbidden", "auth");

        var moderation = ModerateIq(TestRoom.Owner, "older");
        var asking = room.Send(moderation);
        Assert.Equal(("older", 0, 0), (asking.ArchiveLookup, asking.Deliveries.Count, asking.Events.Count));
        room.Run(new HandleStanza(moderation, room.Now, ArchiveLookup: new ArchiveLookup("older", Archived: false)))
            .HasError(TestRoom.Owner, "item-not-found");
        var archived = room.Run(new HandleStanza(moderation, room.Now, ArchiveLookup: new ArchiveLookup("older", Archived: true)));
        Assert.Equal("older", Assert.Single(archived.Events.OfType<MessageRetracted>()).StanzaId);
        Assert.Equal("older", archived.To(Juliet).Single().Element(Retract + "retract")?.Attribute("id")?.Value);
        Assert.Equal("result", archived.To(TestRoom.Owner)[^1].Attribute("type")?.Value);
        room.Send(TestRoom.Stanza($"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}' type='set' id='m'><moderate xmlns='urn:xmpp:message-moderate:1' id='{id}'/></iq>"))
            .HasError(TestRoom.Owner, "bad-request");
    }

    [Fact]
    public void An_author_retracts_their_own_message_which_is_relayed_and_tombstoned_but_not_someone_elses()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var id = StanzaIdOf(room.Say(Juliet, "wrong room"));

        room.Send(Retraction(TestRoom.Owner, id)).HasError(TestRoom.Owner, "forbidden");
        var decision = room.Send(Retraction(Juliet, id));
        Assert.Equal(id, Assert.Single(decision.To(TestRoom.Owner)).Element(Retract + "retract")?.Attribute("id")?.Value);
        var retracted = Assert.Single(decision.Events.OfType<MessageRetracted>());
        Assert.Equal((id, "retract-1", null), (retracted.StanzaId, retracted.RetractionId, retracted.ModeratedBy));
        Assert.Contains(decision.Events, e => e is HistoryMessageAdded);
        var tombstone = XElement.Parse(room.State.History[0].Stanza);
        Assert.Equal("retract-1", tombstone.Element(Retract + "retracted")?.Attribute("id")?.Value);
        Assert.Null(tombstone.Element(Ns.Client + "body"));
    }

    [Fact]
    public void The_archive_shows_a_retracted_message_as_a_tombstone()
    {
        var index = new ArchiveIndex();
        var entry = new HistoryEntry($"<message xmlns='jabber:client' from='{TestRoom.Room}/Juliet' type='groupchat' id='m1'><body>oops</body><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='{TestRoom.Room}'/></message>",
            Jid.Parse("juliet@localhost"), "Juliet", DateTimeOffset.UnixEpoch, "s1");
        index.Add(1, new RoomCreated(Jid.Parse(TestRoom.Owner), new RoomConfig(), null, "salt"));
        index.Add(2, new HistoryMessageAdded(entry));
        index.Add(3, new MessageRetracted("s1", DateTimeOffset.UnixEpoch.AddMinutes(1), "r1", $"{TestRoom.Room}/Owner"));
        var query = ArchiveQuery.Read(TestRoom.RoomJid, Jid.Parse(Juliet), TestRoom.Stanza(
            $"<iq from='{Juliet}' to='{TestRoom.Room}' type='set' id='q'><query xmlns='urn:xmpp:mam:2'/></iq>")).Query!;
        var page = index.Select(query)!;

        var result = ArchiveResults.Page(query, page, [entry])[0].Stanza;
        var archived = result.Descendants(Ns.Client + "message").Single();
        Assert.Null(archived.Element(Ns.Client + "body"));
        Assert.Equal("s1", archived.Element(Ns.StanzaId + "stanza-id")?.Attribute("id")?.Value);
        Assert.Equal("1970-01-01T00:01:00Z", archived.Element(Retract + "retracted")?.Attribute("stamp")?.Value);
    }

    private static string StanzaIdOf(Decision decision) =>
        decision.Deliveries[0].Stanza.Element(Ns.StanzaId + "stanza-id")!.Attribute("id")!.Value;

    private static XElement ModerateIq(string from, string id, string content = "") => TestRoom.Stanza(
        $"<iq from='{from}' to='{TestRoom.Room}' type='set' id='m'><moderate xmlns='urn:xmpp:message-moderate:1' id='{id}'><retract xmlns='urn:xmpp:message-retract:1'/>{content}</moderate></iq>");

    private static XElement Retraction(string from, string id) => TestRoom.Stanza(
        $"<message from='{from}' to='{TestRoom.Room}' type='groupchat' id='retract-1'><retract xmlns='urn:xmpp:message-retract:1' id='{id}'/><body>/me retracted a message</body></message>");
}
