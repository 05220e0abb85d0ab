using System.Reflection;
using System.Text.Json.Serialization;
using Akka.Actor;
using Dmuc.Actors.Persistence;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Xunit.Abstractions;

namespace Dmuc.Actors.Tests;

public sealed class RoomJournalSerializerTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    private static readonly DateTimeOffset Noon = new(2024, 5, 1, 12, 0, 0, TimeSpan.FromHours(2));

    private static readonly RoomConfig UnusualConfig = new()
    {
        Name = "Verona <&> \"café\" ☕",
        Description = "line one\nline two",
        Language = "it",
        Public = true,
        Persistent = true,
        MembersOnly = true,
        AllowMemberInvites = true,
        Moderated = true,
        Whois = Whois.Anyone,
        ChangeSubject = true,
        Password = "s3cr3t",
        HistoryLength = 42,
        PresenceBroadcast = PresenceBroadcastRoles.Moderator | PresenceBroadcastRoles.None,
        DefaultHistoryMessages = 7,
        MaxUsers = 12,
        AllowPrivateMessages = PrivateMessagesFrom.Moderators,
        Archived = false,
    };

    private static readonly HistoryEntry Message = new(
        "<message xmlns='jabber:client' from='room@conference.localhost/Romeo' type='groupchat'><body>hi ✓</body></message>",
        Jid.Parse("romeo@localhost"), "Romeo", Noon, "stanza-id-1");

    private static readonly DurableRoomEvent[] DurableEventSamples =
    [
        new RoomCreated(Jid.Parse("owner@localhost/desk"), UnusualConfig, Noon.AddMinutes(5), "salt"),
        new RoomCreated(Jid.Parse("owner@localhost"), new RoomConfig(), LockedUntil: null, ""),
        new RoomConfigured(UnusualConfig),
        new AffiliationChanged(Jid.Parse("juliet@localhost"), Affiliation.Member, "Juliet", null),
        new AffiliationChanged(Jid.Parse("spam.example"), Affiliation.Outcast, null, "spam"),
        new AffiliationChanged(Jid.Parse("nurse@localhost"), Affiliation.None, null, null),
        new SubjectChanged(new RoomSubject("Star-crossed", "Romeo", Noon)),
        new SubjectChanged(new RoomSubject("", "", Noon)),
        new HistoryMessageAdded(Message),
        new RoomDestroyed("bye", Jid.Parse("new@conference.localhost"), Noon.AddDays(31)),
        new RoomDestroyed(null, null),
        new OccupantSessionUpdated("Romeo", Jid.Parse("romeo@localhost/balcony"),
            "<presence xmlns='jabber:client'><show>away</show><status>café ☕</status></presence>", Role.Moderator),
        new OccupantSessionLeft("Romeo", Jid.Parse("romeo@localhost/balcony")),
        new OccupantSessionLeft("Romeo", Jid.Parse("romeo@localhost/balcony"), Noon),
        new SessionLetGo("Wumpus", Jid.Parse("argl@killrc.oulubox.irc/laptop"), Noon, Told: true),
        new LetGoTold("killrc.oulubox.irc", Noon),
        new OccupantRoleChanged("Romeo", Role.None),
        new MessageRetracted("sid-1", Noon, "retraction-1", "verona@conference.localhost/Escalus", "occupant", "Brawling"),
        new MessageRetracted("sid-2", Noon, null),
        new ArchivedMessagesExpired(412, "sid-1"),
    ];

    public static TheoryData<DurableRoomEvent> DurableEvents => new(DurableEventSamples);

    [Theory]
    [MemberData(nameof(DurableEvents))]
    public void A_durable_event_reads_back_as_the_event_that_was_written(DurableRoomEvent written)
    {
        Assert.Equal(written, RoundTrip<RoomEvent>(written));
    }

    [Fact]
    public void Every_durable_event_type_is_covered_by_the_round_trip_test()
    {
        var declared = typeof(RoomEvent).GetCustomAttributes<JsonDerivedTypeAttribute>()
            .Select(attribute => attribute.DerivedType)
            .Where(type => type.IsAssignableTo(typeof(DurableRoomEvent)));
        var covered = DurableEventSamples.Select(sample => sample.GetType()).ToHashSet();

        Assert.All(declared, type => Assert.Contains(type, covered));
    }

    [Fact]
    public void A_relay_position_reads_back_as_written()
    {
        var written = new RelayedStanzaProcessed("killrc.oulubox.irc", "5f1c0a", 41, Kept: true);
        Assert.Equal(written, RoundTrip<RoomEvent>(written));
    }

    [Fact]
    public void A_replica_host_s_receipt_reads_back_as_written()
    {
        var written = new RelayDelivered("killrc.oulubox.irc", "stanza-id-2", [Jid.Parse("argl@killrc.oulubox.irc/laptop")], Journaled: true);
        var read = Assert.IsType<RelayDelivered>(RoundTrip<RoomEvent>(written));
        Assert.Equal(written with { Sessions = [] }, read with { Sessions = [] });
        Assert.Equal(written.Sessions, read.Sessions);
    }

    [Fact]
    public void A_snapshot_reads_back_with_every_field()
    {
        var written = new RoomSnapshot(true, UnusualConfig, Noon, "salt",
            [new AffiliationEntry(Jid.Parse("owner@localhost"), Affiliation.Owner),
             new AffiliationEntry(Jid.Parse("juliet@localhost"), Affiliation.Member, "Juliet"),
             new AffiliationEntry(Jid.Parse("spam.example"), Affiliation.Outcast, null, "spam")],
            new RoomSubject("Star-crossed", "Romeo", Noon),
            [Message, Message with { StanzaId = "stanza-id-2", Timestamp = Noon.AddSeconds(1) }],
            new RoomTombstone("Moved", Jid.Parse("mantua@conference.localhost"), Noon.AddDays(31)),
            [new OccupantSessionUpdated("Romeo", Jid.Parse("romeo@localhost/balcony"), "<presence xmlns='jabber:client'/>", Role.Moderator)],
            [new RelayPosition("killrc.oulubox.irc", "5f1c0a", 41)], 0,
            [new RelayReceipt("killrc.oulubox.irc", "stanza-id-2", [Jid.Parse("romeo@localhost/balcony")])],
            [new LetGoSession("Wumpus", Jid.Parse("argl@killrc.oulubox.irc/laptop"), ToldAt: null),
             new LetGoSession("Valdis", Jid.Parse("valdis@killrc.oulubox.irc/desktop"), Noon)],
            [new Departure("Tybalt", Noon)]);

        var read = RoundTrip<RoomSnapshot>(written);

        Assert.Equal(written with { Affiliations = [], History = [], Occupants = [], Relays = [], Receipts = [], LetGo = [], Departures = [] },
            read with { Affiliations = [], History = [], Occupants = [], Relays = [], Receipts = [], LetGo = [], Departures = [] });
        var receipt = Assert.Single(read.Receipts!);
        Assert.Equal(("killrc.oulubox.irc", "stanza-id-2"), (receipt.Relay, receipt.LastStanzaId));
        Assert.Equal(written.Receipts![0].Sessions, receipt.Sessions);
        Assert.Equal(written.Affiliations, read.Affiliations);
        Assert.Equal(written.History, read.History);
        Assert.Equal(written.Occupants, read.Occupants);
        Assert.Equal(written.Relays, read.Relays);
        Assert.Equal(written.LetGo, read.LetGo);
        Assert.Equal(written.Departures, read.Departures);
    }

    [Fact]
    public void Room_events_and_snapshots_are_bound_to_the_room_journal_serializer()
    {
        var serialization = Sys.Serialization;

        Assert.IsType<RoomJournalSerializer>(serialization.FindSerializerFor(new RoomDestroyed(null, null)));
        Assert.IsType<RoomJournalSerializer>(serialization.FindSerializerForType(typeof(RoomSnapshot)));
    }

    [Fact]
    public void A_kept_message_is_stored_as_readable_xml_and_rows_with_escaped_markup_still_read()
    {
        var written = new HistoryMessageAdded(Message);
        var serializer = (RoomJournalSerializer)Sys.Serialization.FindSerializerFor(written);

        var row = System.Text.Encoding.UTF8.GetString(serializer.ToBinary(written));
        Assert.Contains("<message xmlns='jabber:client' from='room@conference.localhost/Romeo'", row);
        // Rows written before (the default encoder's \u003C for '<') read back the same.
        var escapedRow = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes<RoomEvent>(written);
        Assert.Contains("\\u003Cmessage", System.Text.Encoding.UTF8.GetString(escapedRow));
        Assert.Equal(written, serializer.FromBinary(escapedRow, serializer.Manifest(written)));
    }

    /// <summary>Through the serializer the actor system picks, as the journal does, with its manifest.</summary>
    private T RoundTrip<T>(object written)
    {
        var serializer = (RoomJournalSerializer)Sys.Serialization.FindSerializerFor(written);
        var bytes = serializer.ToBinary(written);
        return Assert.IsAssignableFrom<T>(serializer.FromBinary(bytes, serializer.Manifest(written)));
    }
}
