using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>XEP-0313 on rooms: who may query, how a query reads, which page it gets.</summary>
public sealed class ArchiveTests
{
    private const string Juliet = "juliet@localhost/balcony";
    private static readonly DateTimeOffset Noon = new(2024, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_accepted_query_is_handed_to_the_archive_and_nothing_is_sent_yet()
    {
        var room = TestRoom.Created();
        var decision = room.Send(Query(Juliet, "<set xmlns='http://jabber.org/protocol/rsm'><max>5</max><before/></set>"));
        Assert.Empty(decision.Deliveries);
        Assert.Empty(decision.Events);
        var query = decision.ArchiveRead!;
        Assert.Equal((Jid.Parse(Juliet), "q", "qid", 5, true), (query.Requester, query.IqId, query.QueryId, query.Max, query.FromEnd));
    }

    [Fact]
    public void Members_only_rooms_keep_their_archive_from_non_members_and_outcasts_are_refused_everywhere()
    {
        var membersOnly = TestRoom.Created(("muc#roomconfig_membersonly", "1"));
        membersOnly.Send(Query(Juliet)).HasError(Juliet, "forbidden");
        membersOnly.Admin(TestRoom.Owner, "affiliation='member' jid='juliet@localhost'");
        Assert.NotNull(membersOnly.Send(Query(Juliet)).ArchiveRead);

        var open = TestRoom.Created();
        open.Admin(TestRoom.Owner, "affiliation='outcast' jid='juliet@localhost'");
        open.Send(Query(Juliet)).HasError(Juliet, "forbidden");
    }

    [Fact]
    public void A_password_protected_room_shows_its_archive_to_occupants_only()
    {
        var room = TestRoom.Created(("muc#roomconfig_roomsecret", "secret"));
        room.Send(Query(Juliet)).HasError(Juliet, "forbidden");
        room.Join(Juliet, "Juliet", "<password>secret</password>");
        Assert.NotNull(room.Send(Query(Juliet)).ArchiveRead);
    }

    [Fact]
    public void A_get_lists_the_supported_fields()
    {
        var room = TestRoom.Created();
        var reply = Assert.Single(room.Send(TestRoom.Stanza($"<iq from='{Juliet}' to='{TestRoom.Room}' type='get' id='f'><query xmlns='urn:xmpp:mam:2'/></iq>")).To(Juliet));
        var fields = reply.Descendants(Ns.DataForms + "field").Select(field => field.Attribute("var")!.Value);
        Assert.Equal(["FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids"], fields);
    }

    [Theory]
    [InlineData("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:1</value></field></x>", "bad-request")]
    [InlineData("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field><field var='fulltext'><value>x</value></field></x>", "feature-not-implemented")]
    [InlineData("<x xmlns='jabber:x:data' type='submit'><field var='end'><value>soon</value></field></x>", "bad-request")]
    [InlineData("<x xmlns='jabber:x:data' type='submit'><field var='with'><value>@@</value></field></x>", "jid-malformed")]
    [InlineData("<set xmlns='http://jabber.org/protocol/rsm'><max>many</max></set>", "bad-request")]
    [InlineData("<set xmlns='http://jabber.org/protocol/rsm'><index>3</index></set>", "feature-not-implemented")]
    public void Queries_the_archive_cannot_run_are_refused(string content, string condition)
    {
        var room = TestRoom.Created();
        room.Send(Query(Juliet, content)).HasError(Juliet, condition);
    }

    [Fact]
    public void An_unarchived_room_refuses_queries_and_does_not_advertise_mam()
    {
        var room = TestRoom.Created(("muc#roomconfig_enablearchiving", "0"));
        room.Send(Query(Juliet)).HasError(Juliet, "feature-not-implemented");
        var info = Assert.Single(room.Send(TestRoom.Stanza($"<iq from='{Juliet}' to='{TestRoom.Room}' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).To(Juliet));
        Assert.DoesNotContain(info.Descendants(Ns.DiscoInfo + "feature"), feature => feature.Attribute("var")!.Value.StartsWith("urn:xmpp:mam"));
    }

    [Fact]
    public void Pages_go_forward_from_the_start_and_back_from_the_end_with_complete_only_at_the_edge()
    {
        var index = IndexOf(10);
        var firstPage = index.Select(Read("<set xmlns='http://jabber.org/protocol/rsm'><max>4</max></set>"))!;
        Assert.Equal(["m1", "m2", "m3", "m4"], Ids(firstPage));
        Assert.Equal((false, 10), (firstPage.Complete, firstPage.Count));

        var lastForward = index.Select(Read("<set xmlns='http://jabber.org/protocol/rsm'><max>4</max><after>m6</after></set>"))!;
        Assert.Equal(["m7", "m8", "m9", "m10"], Ids(lastForward));
        Assert.True(lastForward.Complete);

        var lastPage = index.Select(Read("<set xmlns='http://jabber.org/protocol/rsm'><max>3</max><before/></set>"))!;
        Assert.Equal(["m8", "m9", "m10"], Ids(lastPage));
        Assert.False(lastPage.Complete);
        var backToStart = index.Select(Read("<set xmlns='http://jabber.org/protocol/rsm'><max>3</max><before>m3</before></set>"))!;
        Assert.Equal(["m1", "m2"], Ids(backToStart));
        Assert.True(backToStart.Complete);
    }

    [Fact]
    public void Filters_narrow_the_count_and_ids_between_after_and_before_bound_the_page()
    {
        var index = IndexOf(10);
        var between = index.Select(Read(Form(("after-id", "m2"), ("before-id", "m6"))))!;
        Assert.Equal(["m3", "m4", "m5"], Ids(between));
        var late = index.Select(Read(Form(("start", "2024-01-01T12:00:08Z"))))!;
        Assert.Equal(["m8", "m9", "m10"], Ids(late));
        Assert.Equal(3, late.Count);
        var early = index.Select(Read(Form(("end", "2024-01-01T12:00:02Z"))))!;
        Assert.Equal(["m1", "m2"], Ids(early));
        var odd = index.Select(Read(Form(("with", $"{TestRoom.Room}/Odd"))))!;
        Assert.Equal(["m1", "m3", "m5", "m7", "m9"], Ids(odd));
        Assert.Empty(Ids(index.Select(Read(Form(("with", "juliet@localhost"))))!));
    }

    [Fact]
    public void An_unknown_id_is_not_found_and_a_recreated_room_starts_an_empty_archive()
    {
        var index = IndexOf(3);
        Assert.Null(index.Select(Read("<set xmlns='http://jabber.org/protocol/rsm'><after>gone</after></set>")));
        index.Add(4, new RoomDestroyed(null, null));
        index.Add(5, new RoomCreated(Jid.Parse(TestRoom.Owner), new RoomConfig(), null, "salt"));
        Assert.Equal(0, index.Select(Read(""))!.Count);
        Assert.Null(index.Select(Read("<set xmlns='http://jabber.org/protocol/rsm'><after>m1</after></set>")));
        Assert.Equal(5, index.IndexedUpTo);
    }

    [Fact]
    public void Results_forward_each_message_with_its_time_then_fin_with_the_set()
    {
        var index = IndexOf(3);
        var query = Read("<set xmlns='http://jabber.org/protocol/rsm'><max>2</max></set>");
        var page = index.Select(query)!;
        var entries = page.Messages.Select(message => new HistoryEntry(
            $"<message xmlns='jabber:client' from='{TestRoom.Room}/Odd' type='groupchat'><body>{message.StanzaId}</body></message>",
            Jid.Parse("owner@localhost"), message.Nick, message.Timestamp, message.StanzaId)).ToList();
        var deliveries = ArchiveResults.Page(query, page, entries);

        Assert.All(deliveries, delivery => Assert.Equal(Jid.Parse(Juliet), delivery.To));
        DecisionAssertions.Matches($"<message from='{TestRoom.Room}'><result xmlns='urn:xmpp:mam:2' queryid='qid' id='m1'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T12:00:01Z'/><message xmlns='jabber:client' from='{TestRoom.Room}/Odd' type='groupchat'><body>m1</body></message></forwarded></result></message>", deliveries[0].Stanza);
        DecisionAssertions.Matches($"<iq type='result' id='q' from='{TestRoom.Room}'><fin xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><first>m1</first><last>m2</last><count>3</count></set></fin></iq>", deliveries[^1].Stanza);
        var flipped = ArchiveResults.Page(query with { FlipPage = true }, page, entries);
        Assert.Equal("m2", flipped[0].Stanza.Descendants().First().Attribute("id")!.Value);
    }

    [Fact]
    public void Messages_said_while_the_archive_was_off_stay_out_of_it()
    {
        var index = IndexOf(2);
        index.Add(4, new RoomConfigured(new RoomConfig { Archived = false }));
        index.Add(5, new HistoryMessageAdded(new HistoryEntry("<message/>", Jid.Parse("owner@localhost"), "Odd", Noon, "off")));
        index.Add(6, new RoomConfigured(new RoomConfig()));
        index.Add(7, new HistoryMessageAdded(new HistoryEntry("<message/>", Jid.Parse("owner@localhost"), "Odd", Noon, "on")));
        Assert.Equal(["m1", "m2", "on"], Ids(index.Select(Read(""))!));
    }

    [Fact]
    public void Retention_expires_the_oldest_messages_by_count_or_age_and_never_one_before_an_older_kept_one()
    {
        Assert.Equal(7, new ArchiveRetention(null, 3).ExpiredCount(Messages(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Noon));
        Assert.Equal(4, new ArchiveRetention(TimeSpan.FromSeconds(5), null).ExpiredCount(Messages(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Noon.AddSeconds(10)));
        Assert.Equal(8, new ArchiveRetention(TimeSpan.FromSeconds(5), 2).ExpiredCount(Messages(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Noon.AddSeconds(10)));
        // A message held through a netsplit keeps its sending time: the one after a newer message waits for it.
        Assert.Equal(2, new ArchiveRetention(TimeSpan.FromSeconds(5), null).ExpiredCount(Messages(1, 2, 9, 3), Noon.AddSeconds(10)));
        Assert.Equal(0, new ArchiveRetention(TimeSpan.FromSeconds(5), 20).ExpiredCount(Messages(6, 7), Noon.AddSeconds(10)));
    }

    [Fact]
    public void Expired_messages_leave_the_archive_their_ids_are_not_found_and_the_count_shrinks()
    {
        var index = IndexOf(10);
        index.Expire(new ArchiveRetention(null, 4), Noon);
        var all = index.Select(Read(""))!;
        Assert.Equal(["m7", "m8", "m9", "m10"], Ids(all));
        Assert.Equal((4, true), (all.Count, all.Complete));
        Assert.Null(index.Select(Read("<set xmlns='http://jabber.org/protocol/rsm'><after>m2</after></set>")));
        Assert.Equal(["m8", "m9"], Ids(index.Select(Read("<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><before>m10</before></set>"))!));
        Assert.Equal(("m6", 7L), (index.LastExpired!.StanzaId, index.LastExpired.SequenceNr));
    }

    [Fact]
    public void A_journal_trimmed_by_retention_is_read_as_archived_and_the_recorded_expiry_applies_to_it()
    {
        // Its oldest events, the room's creation among them, were deleted after the expiry of m5 (journal position 6).
        var index = new ArchiveIndex();
        for (var i = 6; i <= 10; i++)
            index.Add(i + 1, new HistoryMessageAdded(new HistoryEntry("<message/>", Jid.Parse("owner@localhost"), "Odd", Noon.AddSeconds(i), $"m{i}")));
        index.Add(12, new ArchivedMessagesExpired(8, "m7"));
        Assert.Equal(["m8", "m9", "m10"], Ids(index.Select(Read(""))!));
        Assert.Equal("m7", index.LastExpired!.StanzaId);
    }

    [Fact]
    public void The_room_records_an_expiry_once_and_its_history_lets_go_of_the_expired_messages()
    {
        var room = TestRoom.Created();
        for (var i = 1; i <= 5; i++) room.Say(TestRoom.Owner, $"message {i}", $"m{i}");
        var history = room.State.History.Select(entry => entry.StanzaId).ToList();
        var expiry = room.Run(new ExpireArchivedMessages(40, history[2], room.Now));
        Assert.Equal(new ArchivedMessagesExpired(40, history[2]), Assert.Single(expiry.Events));
        Assert.Equal(history[3..], room.State.History.Select(entry => entry.StanzaId));
        Assert.Equal(40, room.State.ArchiveExpiredThrough);
        Assert.Empty(room.Run(new ExpireArchivedMessages(40, history[2], room.Now)).Events);
        Assert.Empty(room.Run(new ExpireArchivedMessages(12, history[0], room.Now)).Events);
        var restored = RoomState.FromSnapshot(TestRoom.RoomJid, room.Options, room.State.ToSnapshot());
        Assert.Equal(40, restored.ArchiveExpiredThrough);
    }

    private static List<ArchivedMessage> Messages(params int[] secondsAfterNoon) =>
        secondsAfterNoon.Select((seconds, i) => new ArchivedMessage(i + 1, $"m{i + 1}", Noon.AddSeconds(seconds), "Odd")).ToList();

    /// <summary>Messages m1…mN, one a second from noon, by "Odd" and "Even" in turn.</summary>
    private static ArchiveIndex IndexOf(int messages)
    {
        var index = new ArchiveIndex();
        index.Add(1, new RoomCreated(Jid.Parse(TestRoom.Owner), new RoomConfig(), null, "salt"));
        for (var i = 1; i <= messages; i++)
        {
            index.Add(i + 1, new HistoryMessageAdded(new HistoryEntry("<message/>", Jid.Parse("owner@localhost"),
                i % 2 == 1 ? "Odd" : "Even", Noon.AddSeconds(i), $"m{i}")));
        }
        return index;
    }

    private static List<string> Ids(ArchivePage page) => page.Messages.Select(message => message.StanzaId).ToList();

    private static string Form(params (string Field, string Value)[] fields) =>
        "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>"
        + string.Concat(fields.Select(field => $"<field var='{field.Field}'><value>{field.Value}</value></field>")) + "</x>";

    private static XElement Query(string from, string content = "") =>
        TestRoom.Stanza($"<iq from='{from}' to='{TestRoom.Room}' type='set' id='q'><query xmlns='urn:xmpp:mam:2' queryid='qid'>{content}</query></iq>");

    private static ArchiveQuery Read(string content) =>
        ArchiveQuery.Read(TestRoom.RoomJid, Jid.Parse(Juliet), Query(Juliet, content)).Query!;
}
