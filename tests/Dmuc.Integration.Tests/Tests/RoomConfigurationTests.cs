using System.Xml.Linq;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Xmpp;
using Xunit;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>The owner's configuration form, submitted by a real client through Prosody.</summary>
public sealed class RoomConfigurationTests
{
    private const string Room = "verona@conference.localhost";

    [Theory]
    [InlineData("muc#roomconfig_historylength", "lots")]
    [InlineData("muc#roomconfig_presencebroadcast", "everyone")]
    public async Task A_value_its_field_cannot_take_is_answered_with_not_acceptable_and_the_room_keeps_its_settings(string field, string value)
    {
        await using var environment = await MucTestEnvironment.StartAsync(DmucUnderTest.Muc);
        await using var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x");
        await romeo.JoinRoomAsync(Room, "Romeo");
        await romeo.ConfigureRoomAsync(Room, ("muc#roomconfig_roomname", "Verona"));

        var reply = await romeo.SubmitRoomConfigurationAsync(Room, ("muc#roomconfig_roomname", "Mantua"), (field, value));

        Assert.Equal("error", (string?)reply.Attribute("type"));
        var error = reply.Element(XmppNamespaces.Client + "error");
        Assert.NotNull(error?.Element(Ns.Stanzas + "not-acceptable"));
        Assert.Equal("modify", (string?)error.Attribute("type"));
        Assert.Equal("Verona", await RoomNameAsync(romeo));
    }

    private static async Task<string?> RoomNameAsync(XmppTestClient owner)
    {
        await owner.SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("to", Room), new XAttribute("type", "get"),
            new XAttribute("id", "form"), new XElement(MucOwner + "query")));
        var form = (await owner.ReceiveUntilAsync(IsReplyTo("form")))[^1];
        return form.Descendants(DataForms + "field").Single(field => (string?)field.Attribute("var") == "muc#roomconfig_roomname")
            .Element(DataForms + "value")?.Value;
    }
}
