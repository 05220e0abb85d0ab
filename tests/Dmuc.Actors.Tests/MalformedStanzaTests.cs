using System.Xml.Linq;
using Dmuc.Actors.Tests.Infrastructure;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests;

/// <summary>
/// Whatever the XMPP server hands over, the directory answers or drops it and carries on: a crash would
/// restart the directory, which stops every room and silently removes every occupant.
/// </summary>
public sealed class MalformedStanzaTests : RoomActorTestKit
{
    private const string Romeo = "romeo@localhost/balcony";
    private readonly RoomNode _node;

    public MalformedStanzaTests(ITestOutputHelper output) : base(output)
    {
        _node = StartNode();
        Watch(_node.Directory);
    }

    [Theory]
    [InlineData("<message from='romeo@localhost/balcony' to='room@elsewhere.example' type='groupchat'><body>hi</body></message>")]
    [InlineData("<message from='romeo@localhost/balcony' to='@@not a jid' type='groupchat'><body>hi</body></message>")]
    [InlineData("<message from='romeo@localhost/balcony' type='groupchat'><body>no recipient</body></message>")]
    [InlineData("<iq from='romeo@localhost/balcony' to='elsewhere.example' type='get' id='q'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")]
    public async Task A_stanza_not_addressed_to_this_service_is_answered_with_jid_malformed(string xml)
    {
        await OccupiedRoomAsync();

        _node.Send(Parse(xml));

        await _node.Sink.WaitForAsync(Romeo, stanza => stanza.IsError("jid-malformed"));
        await AssertRoomStillOccupiedAsync();
    }

    [Theory]
    [InlineData("<message to='room@conference.localhost' type='groupchat'><body>no sender</body></message>")]
    [InlineData("<presence from='not a jid@@' to='room@conference.localhost/Nick'/>")]
    [InlineData("<message from='romeo@localhost/balcony' to='room@elsewhere.example' type='error'><error type='cancel'/></message>")]
    [InlineData("<iq to='conference.localhost' type='get' id='q'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")]
    public async Task A_stanza_that_cannot_be_answered_is_dropped(string xml)
    {
        await OccupiedRoomAsync();
        _node.Sink.Clear();

        _node.Send(Parse(xml));

        await AssertRoomStillOccupiedAsync();
        Assert.Empty(_node.Sink.All);
    }

    [Theory]
    [InlineData("conference.localhost")]
    [InlineData("other@conference.localhost")]
    [InlineData("room@conference.localhost/Owner")]
    public async Task A_stanza_from_this_services_own_addresses_is_not_taken_for_a_user(string from)
    {
        await OccupiedRoomAsync();
        _node.Sink.Clear();

        _node.Send(Parse($"<presence from='{from}' to='fresh@conference.localhost/Nick'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
        _node.Send(Parse($"<message from='{from}' to='room@conference.localhost' type='groupchat'><body>loop</body></message>"));

        Assert.False((await _node.InspectAsync("fresh@conference.localhost")).Exists);
        await AssertRoomStillOccupiedAsync();
        Assert.Empty(_node.Sink.All);
    }

    [Theory]
    [InlineData("per%cent")]
    [InlineData("$dollar")]
    [InlineData("dots...and;semi,colons")]
    [InlineData("ünïcödé-räum")]
    [InlineData("日本語の部屋")]
    public async Task Rooms_with_unusual_names_work_like_any_other(string localPart)
    {
        await OccupiedRoomAsync();
        var room = $"{localPart.ToLowerInvariant()}@{Service}";

        await _node.JoinAsync(Romeo, "Romeo", room);
        await _node.SayAsync(Romeo, "hello", room);

        await AssertRoomStillOccupiedAsync();
    }

    [Fact]
    public async Task A_room_name_of_the_longest_allowed_length_works()
    {
        await OccupiedRoomAsync();
        // 1023 bytes is the JID localpart limit; escaped for the actor name it triples.
        var room = $"{new string('%', 1023)}@{Service}";

        await _node.JoinAsync(Romeo, "Romeo", room);

        await AssertRoomStillOccupiedAsync();
    }

    [Theory]
    [InlineData("<foo xmlns='urn:example:unknown' from='romeo@localhost/balcony' to='room@conference.localhost'/>")]
    [InlineData("<message xmlns='jabber:server' from='romeo@localhost/balcony' to='room@conference.localhost' type='groupchat'><body>wrong namespace</body></message>")]
    [InlineData("<iq xmlns='jabber:client' from='romeo@localhost/balcony' to='room@conference.localhost' type='set' id='empty'/>")]
    [InlineData("<presence xmlns='jabber:client' from='romeo@localhost/balcony' to='room@conference.localhost/'/>")]
    [InlineData("<message xmlns='jabber:client' from='romeo@localhost/balcony' to='room@conference.localhost' type='bogus'><body/></message>")]
    public async Task Stanzas_a_room_does_not_understand_do_not_disturb_it(string xml)
    {
        await OccupiedRoomAsync();

        _node.Send(XElement.Parse(xml));

        await AssertRoomStillOccupiedAsync();
    }

    private Task OccupiedRoomAsync() => _node.CreateRoomAsync();

    /// <summary>The directory neither crashed nor restarted: the room is still there with its occupant.</summary>
    private async Task AssertRoomStillOccupiedAsync()
    {
        var inspection = await _node.InspectAsync();
        Assert.True(inspection.Exists);
        Assert.Equal(1, inspection.Occupants);
        ExpectNoMsg(TimeSpan.Zero);
    }
}
