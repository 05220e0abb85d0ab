using System.Xml.Linq;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using static Dmuc.Integration.Tests.Xmpp.ArchiveClientSteps;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// XEP-0313 on rooms, asked by real clients through Prosody: on one node, and with every client on a replica host
/// (the room's primary is another node behind another Prosody, so each query crosses the cluster and back).
/// </summary>
public sealed class RoomArchiveTests
{
    private const string Room = "archive@conference.localhost";
    private static readonly XNamespace Retract = "urn:xmpp:message-retract:1";
    private static readonly XNamespace Moderate = "urn:xmpp:message-moderate:1";

    private static readonly MucUnderTest NodeArchivingNothingByDefault = MucUnderTest.ExternalComponent("Dmuc, Dmuc:ArchiveRooms=false",
        async (endpoint, cancellationToken) => await InProcessDmucNode.StartAsync(endpoint,
            new Dictionary<string, string?> { ["Dmuc:ArchiveRooms"] = "false" }, cancellationToken));

    private static readonly MucUnderTest NodeKeepingMessagesThreeSeconds = MucUnderTest.ExternalComponent("Dmuc, Dmuc:ArchiveRetention:MaxAge=3s",
        async (endpoint, cancellationToken) => await InProcessDmucNode.StartAsync(endpoint, new Dictionary<string, string?>
        {
            ["Dmuc:ArchiveRetention:MaxAge"] = "00:00:03",
            ["Dmuc:ArchiveRetention:CheckInterval"] = "00:00:00.250",
        }, cancellationToken));

    [Fact]
    public async Task Messages_past_the_retention_age_disappear_from_the_archive_and_from_the_history_newcomers_get()
    {
        await using var environment = await MucTestEnvironment.StartAsync(NodeKeepingMessagesThreeSeconds);
        await using var romeo = await environment.ClientEndpoint.ConnectAsRoomOwnerAsync("romeo@localhost/balcony", Room, "Romeo");
        var expiringId = await romeo.SayAndGetStanzaIdAsync(Room, "soon gone");
        await romeo.SayAsync(Room, "soon gone too");
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        Assert.Equal(["soon gone", "soon gone too"], (await juliet.QueryArchiveAsync(Room, "kept")).Bodies);

        // Past the age, and a few of the room's expiry checks later.
        await Task.Delay(TimeSpan.FromSeconds(4));
        await romeo.SayAsync(Room, "fresh");
        Assert.Equal(["fresh"], (await juliet.QueryArchiveAsync(Room, "expired")).Bodies);
        Assert.Equal("item-not-found", ErrorCondition(await juliet.QueryArchiveExpectingErrorAsync(Room, "gone", Page(after: expiringId))));
        var history = (await juliet.JoinRoomAsync(Room, "Juliet")).Select(stanza => stanza.Element(XmppNamespaces.Client + "body")?.Value).OfType<string>();
        Assert.Equal(["fresh"], history);
    }

    private static readonly MucUnderTest NodeKeepingTwoMessagesInMemory = MucUnderTest.ExternalComponent("Dmuc, Dmuc:NetjoinBacklog=2",
        async (endpoint, cancellationToken) => await InProcessDmucNode.StartAsync(endpoint,
            new Dictionary<string, string?> { ["Dmuc:NetjoinBacklog"] = "2" }, cancellationToken));

    [Fact]
    public async Task A_moderator_retracts_a_message_only_the_archive_still_holds_and_everyone_is_told()
    {
        await using var environment = await MucTestEnvironment.StartAsync(NodeKeepingTwoMessagesInMemory);
        await using var romeo = await environment.ClientEndpoint.ConnectAsRoomOwnerAsync("romeo@localhost/balcony", Room, "Romeo",
            ("muc#roomconfig_historylength", "2"));
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        await juliet.JoinRoomAsync(Room, "Juliet");
        var spamId = await juliet.SayAndGetStanzaIdAsync(Room, "DM me for free magic potions!");
        for (var i = 1; i <= 3; i++) await romeo.SayAsync(Room, $"line {i}");

        await romeo.SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("to", Room), new XAttribute("type", "set"), new XAttribute("id", "moderate"),
            new XElement(Moderate + "moderate", new XAttribute("id", spamId), new XElement(Retract + "retract"), new XElement(Moderate + "reason", "Spam"))));
        Assert.Equal("result", (string?)(await romeo.ReceiveUntilAsync(IsReplyTo("moderate")))[^1].Attribute("type"));
        var announcement = (await juliet.ReceiveUntilAsync(stanza => (string?)stanza.Element(Retract + "retract")?.Attribute("id") == spamId))[^1];
        Assert.Equal($"{Room}/Romeo", (string?)announcement.Element(Retract + "retract")!.Element(Moderate + "moderated")?.Attribute("by"));

        var archive = await juliet.QueryArchiveAsync(Room, "all");
        Assert.Equal(spamId, archive.Ids[0]);
        Assert.NotNull(archive.Messages[0].Element(Retract + "retracted"));
        Assert.DoesNotContain("potions", string.Concat(archive.Messages));
        // An id nobody ever saw is still refused, now by the archive.
        await romeo.SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("to", Room), new XAttribute("type", "set"), new XAttribute("id", "unknown"),
            new XElement(Moderate + "moderate", new XAttribute("id", "no-such-message"), new XElement(Retract + "retract"))));
        Assert.Equal("item-not-found", ErrorCondition((await romeo.ReceiveUntilAsync(IsReplyTo("unknown")))[^1]));
    }

    [Fact]
    public async Task A_node_archiving_nothing_by_default_still_archives_a_room_whose_owner_turns_it_on()
    {
        await using var environment = await MucTestEnvironment.StartAsync(NodeArchivingNothingByDefault);
        await using var romeo = await environment.ClientEndpoint.ConnectAsRoomOwnerAsync("romeo@localhost/balcony", Room, "Romeo");
        await romeo.SayAsync(Room, "not archived");
        Assert.Equal("feature-not-implemented", ErrorCondition(await romeo.QueryArchiveExpectingErrorAsync(Room, "off")));

        await romeo.ConfigureRoomAsync(Room, ("muc#roomconfig_enablearchiving", "1"));
        await romeo.SayAsync(Room, "archived");
        // What was said with the archive off stays out of it, though the journal holds it for the history.
        Assert.Equal(["archived"], (await romeo.QueryArchiveAsync(Room, "on")).Bodies);
    }

    /// <summary>
    /// Debian's slixmpp, a client library written without Dmuc in mind, pages back through the archive with its
    /// XEP-0313 iterator and gets a refused join back as an error (the &lt;x/&gt; on join errors lets it match it).
    /// </summary>
    [Theory]
    [MemberData(nameof(DmucUnderTest.OneNodeAndReplicaHost), MemberType = typeof(DmucUnderTest))]
    public async Task Slixmpp_pages_back_through_the_whole_archive_and_sees_a_refused_join_fail(string deployment)
    {
        await using var environment = await MucTestEnvironment.StartAsync(DmucUnderTest.Deployment(deployment));
        await using var romeo = await environment.ClientEndpoint.ConnectAsRoomOwnerAsync("romeo@localhost/balcony", Room, "Romeo");
        var said = Enumerable.Range(1, 7).Select(i => $"line {i}").ToList();
        foreach (var body in said) await romeo.SayAsync(Room, body);
        const string lockedRoom = "locked@conference.localhost";
        await romeo.JoinRoomAsync(lockedRoom, "Romeo");
        await romeo.ConfigureRoomAsync(lockedRoom, ("muc#roomconfig_roomsecret", "secret"));

        var outcome = await SlixmppClient.RunAsync("slixmpp_room_archive.py", environment.ClientEndpoint.Host,
            environment.ClientEndpoint.Port.ToString(), "juliet@localhost/slixmpp", "x", Room, "3", lockedRoom);

        Assert.False(outcome.TryGetProperty("error", out var error), error.ToString());
        // Seven messages three a page: slixmpp had to follow the RSM paging to get them all.
        Assert.Equal(said, outcome.GetProperty("bodies").EnumerateArray().Select(body => body.GetString()));
        Assert.Equal("not-authorized", outcome.GetProperty("join").GetString());
    }

    [Theory]
    [MemberData(nameof(DmucUnderTest.OneNodeAndReplicaHost), MemberType = typeof(DmucUnderTest))]
    public async Task A_user_pages_back_through_the_room_archive_and_forward_again_by_id(string deployment)
    {
        await using var environment = await MucTestEnvironment.StartAsync(DmucUnderTest.Deployment(deployment));
        await using var romeo = await environment.ClientEndpoint.ConnectAsRoomOwnerAsync("romeo@localhost/balcony", Room, "Romeo", ("muc#roomconfig_historylength", "2"));
        var liveIds = new List<string>();
        for (var i = 1; i <= 7; i++) liveIds.Add(await romeo.SayAndGetStanzaIdAsync(Room, $"line {i}"));

        // Juliet is not in the room: an open room's archive is for anyone who could enter.
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        var last = await juliet.QueryArchiveAsync(Room, "q1", Page(max: 3, before: ""));
        Assert.Equal(["line 5", "line 6", "line 7"], last.Bodies);
        Assert.Equal(liveIds[4..], last.Ids);
        Assert.False(last.Complete);
        Assert.Equal(liveIds[4], last.Set.Element(Rsm + "first")?.Value);
        Assert.Equal("7", last.Set.Element(Rsm + "count")?.Value);

        var earlier = await juliet.QueryArchiveAsync(Room, "q2", Page(max: 3, before: last.Ids[0]));
        Assert.Equal(["line 2", "line 3", "line 4"], earlier.Bodies);
        var first = await juliet.QueryArchiveAsync(Room, "q3", Page(max: 3, before: earlier.Ids[0]));
        Assert.Equal(["line 1"], first.Bodies);
        Assert.True(first.Complete);

        var after = await juliet.QueryArchiveAsync(Room, "q4", Page(after: liveIds[4]));
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
    [MemberData(nameof(DmucUnderTest.OneNodeAndReplicaHost), MemberType = typeof(DmucUnderTest))]
    public async Task Queries_filter_by_form_fields_and_a_bad_query_or_a_closed_archive_gets_an_error(string deployment)
    {
        await using var environment = await MucTestEnvironment.StartAsync(DmucUnderTest.Deployment(deployment));
        await using var romeo = await environment.ClientEndpoint.ConnectAsRoomOwnerAsync("romeo@localhost/balcony", Room, "Romeo");
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        await juliet.JoinRoomAsync(Room, "Juliet");
        await romeo.SayAsync(Room, "from Romeo");
        var julietsId = await juliet.SayAndGetStanzaIdAsync(Room, "from Juliet");

        var withJuliet = await romeo.QueryArchiveAsync(Room, "w", ArchiveForm(("with", $"{Room}/Juliet")));
        Assert.Equal(["from Juliet"], withJuliet.Bodies);
        var byIds = await romeo.QueryArchiveAsync(Room, "ids", ArchiveForm(("ids", julietsId)));
        Assert.Equal(["from Juliet"], byIds.Bodies);
        var future = await romeo.QueryArchiveAsync(Room, "start", ArchiveForm(("start", DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"))));
        Assert.Empty(future.Bodies);
        Assert.True(future.Complete);

        Assert.Equal("item-not-found", ErrorCondition(await romeo.QueryArchiveExpectingErrorAsync(Room, "unknown", Page(after: "no-such-id"))));
        Assert.Equal("feature-not-implemented", ErrorCondition(await romeo.QueryArchiveExpectingErrorAsync(Room, "field", ArchiveForm(("{urn:example}search", "Juliet")))));
        Assert.Equal("bad-request", ErrorCondition(await romeo.QueryArchiveExpectingErrorAsync(Room, "time", ArchiveForm(("start", "yesterday")))));

        await romeo.ConfigureRoomAsync(Room, ("muc#roomconfig_enablearchiving", "0"));
        Assert.Equal("feature-not-implemented", ErrorCondition(await juliet.QueryArchiveExpectingErrorAsync(Room, "closed")));
    }
}
