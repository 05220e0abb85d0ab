using System.Xml.Linq;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

[Collection(ProsodyCollection.Name)]
public sealed class XmppTestClientTests(ProsodyFixture prosody)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Logs_in_binds_a_server_assigned_resource_and_gets_a_ping_result()
    {
        await using var client = await XmppTestClient.ConnectAsync(prosody.Server.ClientEndpoint, "smoke@localhost", "any password");
        Assert.StartsWith("smoke@localhost/", client.FullJid);
        Assert.Equal("smoke@localhost", client.BareJid);

        await client.SendAsync(new XElement(XmppNamespaces.Client + "iq",
            new XAttribute("type", "get"), new XAttribute("id", "ping1"), new XAttribute("to", "localhost"),
            new XElement(XmppNamespaces.Ping + "ping")));

        var response = await client.ReceiveAsync(Timeout);
        Assert.Equal(XmppNamespaces.Client + "iq", response.Name);
        Assert.Equal("result", (string?)response.Attribute("type"));
        Assert.Equal("ping1", (string?)response.Attribute("id"));
        Assert.Equal("localhost", (string?)response.Attribute("from"));
    }

    [Fact]
    public async Task Binds_the_requested_resource()
    {
        await using var client = await XmppTestClient.ConnectAsync(prosody.Server.ClientEndpoint, "smoke@localhost/balcony", "x");
        Assert.Equal("smoke@localhost/balcony", client.FullJid);
    }

    [Fact]
    public async Task Sends_no_presence_unless_asked_and_then_gets_its_own_presence_back()
    {
        await using var client = await XmppTestClient.ConnectAsync(prosody.Server.ClientEndpoint, "quiet@localhost", "x");
        await Assert.ThrowsAsync<TimeoutException>(() => client.ReceiveAsync(TimeSpan.FromMilliseconds(300)));

        await client.SendInitialPresenceAsync();
        var presence = await client.ReceiveAsync(Timeout);
        Assert.Equal(XmppNamespaces.Client + "presence", presence.Name);
        Assert.Equal(client.FullJid, (string?)presence.Attribute("from"));
    }

    [Fact]
    public async Task Disconnect_closes_the_stream_and_the_server_closes_its_side()
    {
        await using var client = await XmppTestClient.ConnectAsync(prosody.Server.ClientEndpoint, "leaving@localhost", "x");
        await client.DisconnectAsync();
        Assert.False(client.IsConnected);
        Assert.True(client.HasDisconnected);
        Assert.True(client.StreamEnded, "the server should answer </stream:stream> with its own");
    }
}
