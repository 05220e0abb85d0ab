using System.Xml.Linq;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// What users see of voice requests, the later configuration fields, refused joins, disco features and tombstones,
/// with real clients through Prosody, on one node and with every client on a replica host.
/// </summary>
public sealed class RoomFeatureTests
{
    private const string Room = "verona@conference.localhost";
    private static readonly XNamespace Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    private static readonly XNamespace DiscoInfo = "http://jabber.org/protocol/disco#info";
    private static readonly XNamespace VoiceRequest = "http://jabber.org/protocol/muc#request";

    [Theory]
    [MemberData(nameof(DmucUnderTest.OneNodeAndReplicaHost), MemberType = typeof(DmucUnderTest))]
    public async Task A_visitor_asks_for_voice_the_moderator_grants_it_and_the_visitor_speaks(string deployment)
    {
        await using var environment = await MucTestEnvironment.StartAsync(DmucUnderTest.Deployment(deployment));
        await using var romeo = await environment.ClientEndpoint.ConnectAsRoomOwnerAsync("romeo@localhost/balcony", Room, "Romeo", ("muc#roomconfig_moderatedroom", "1"));
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        await juliet.JoinRoomAsync(Room, "Juliet");

        await juliet.SendAsync(Message(Room, VoiceForm(("muc#role", "participant"))));
        var request = (await romeo.ReceiveUntilAsync(stanza => stanza.Element(DataForms + "x") is not null))[^1];
        var fields = request.Descendants(DataForms + "field").ToDictionary(field => (string)field.Attribute("var")!, field => field.Element(DataForms + "value")?.Value);
        Assert.Equal(("Juliet", "juliet@localhost/garden", "0"), (fields["muc#roomnick"], fields["muc#jid"], fields["muc#request_allow"]));

        await romeo.SendAsync(Message(Room, VoiceForm(("muc#role", "participant"), ("muc#roomnick", "Juliet"), ("muc#request_allow", "true"))));
        await juliet.ReceiveUntilAsync(stanza => stanza.Name.LocalName == "presence" && HasStatus(stanza, 110)
            && (string?)stanza.Element(MucUser + "x")?.Element(MucUser + "item")?.Attribute("role") == "participant");
        await juliet.SayAsync(Room, "My bounty is as boundless as the sea");
    }

    [Theory]
    [MemberData(nameof(DmucUnderTest.OneNodeAndReplicaHost), MemberType = typeof(DmucUnderTest))]
    public async Task A_full_room_and_forbidden_private_messages_are_refused_and_a_refused_join_carries_the_muc_payload(string deployment)
    {
        await using var environment = await MucTestEnvironment.StartAsync(DmucUnderTest.Deployment(deployment));
        await using var romeo = await environment.ClientEndpoint.ConnectAsRoomOwnerAsync("romeo@localhost/balcony", Room, "Romeo", ("muc#roomconfig_maxusers", "2"), ("muc#roomconfig_allowpm", "moderators"));
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        await using var nurse = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "nurse@localhost/kitchen", "x");
        await juliet.JoinRoomAsync(Room, "Juliet");

        await nurse.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", $"{Room}/Nurse"), new XElement(MucClientSteps.Muc + "x")));
        var refused = (await nurse.ReceiveUntilAsync(stanza => stanza.Name.LocalName == "presence"))[^1];
        Assert.Equal("error", (string?)refused.Attribute("type"));
        Assert.NotNull(refused.Element(XmppNamespaces.Client + "error")?.Element(Stanzas + "service-unavailable"));
        Assert.NotNull(refused.Element(MucClientSteps.Muc + "x"));

        await juliet.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", $"{Room}/Romeo"), new XAttribute("type", "chat"),
            new XAttribute("id", "pm"), new XElement(XmppNamespaces.Client + "body", "psst")));
        var pmError = (await juliet.ReceiveUntilAsync(stanza => (string?)stanza.Attribute("id") == "pm"))[^1];
        Assert.NotNull(pmError.Element(XmppNamespaces.Client + "error")?.Element(Stanzas + "forbidden"));
    }

    [Theory]
    [MemberData(nameof(DmucUnderTest.OneNodeAndReplicaHost), MemberType = typeof(DmucUnderTest))]
    public async Task Disco_lists_what_is_served_and_a_destroyed_room_answers_gone_with_its_new_address(string deployment)
    {
        await using var environment = await MucTestEnvironment.StartAsync(DmucUnderTest.Deployment(deployment));
        await using var romeo = await environment.ClientEndpoint.ConnectAsRoomOwnerAsync("romeo@localhost/balcony", Room, "Romeo", ("muc#roomconfig_persistentroom", "1"));
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");

        await juliet.SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("to", Room), new XAttribute("type", "get"), new XAttribute("id", "disco"),
            new XElement(DiscoInfo + "query")));
        var info = (await juliet.ReceiveUntilAsync(IsReplyTo("disco")))[^1];
        var features = info.Descendants(DiscoInfo + "feature").Select(feature => (string?)feature.Attribute("var")).ToList();
        Assert.Superset(new HashSet<string?> { "urn:xmpp:sid:0", "urn:xmpp:mam:2", VoiceRequest.NamespaceName, "urn:xmpp:occupant-id:0" }, features.ToHashSet());

        await romeo.SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("to", Room), new XAttribute("type", "set"), new XAttribute("id", "destroy"),
            new XElement(MucOwner + "query", new XElement(MucOwner + "destroy", new XAttribute("jid", "mantua@conference.localhost"),
                new XElement(MucOwner + "reason", "Banished")))));
        await romeo.ReceiveUntilAsync(IsReplyTo("destroy"));

        await juliet.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", $"{Room}/Juliet"), new XElement(MucClientSteps.Muc + "x")));
        var gone = (await juliet.ReceiveUntilAsync(stanza => stanza.Name.LocalName == "presence"))[^1];
        var error = gone.Element(XmppNamespaces.Client + "error");
        Assert.Equal("xmpp:mantua@conference.localhost?join", error?.Element(Stanzas + "gone")?.Value);
        Assert.Equal("Banished", error?.Element(Stanzas + "text")?.Value);
        Assert.NotNull(gone.Element(MucClientSteps.Muc + "x"));
    }

    private static XElement Message(string to, XElement payload) =>
        new(XmppNamespaces.Client + "message", new XAttribute("to", to), payload);

    private static XElement VoiceForm(params (string Field, string Value)[] fields) =>
        new(DataForms + "x", new XAttribute("type", "submit"),
            new XElement(DataForms + "field", new XAttribute("var", "FORM_TYPE"), new XElement(DataForms + "value", VoiceRequest.NamespaceName)),
            fields.Select(field => new XElement(DataForms + "field", new XAttribute("var", field.Field), new XElement(DataForms + "value", field.Value))));
}
