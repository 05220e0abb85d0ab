using System.Xml.Linq;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// deploy/prosody/mod_dmuc_multicast in a real Prosody: the module's contract (<see cref="MulticastModuleContract"/>), and
/// that what Prosody keeps or holds of a copy (stream management's queue, client state indication's buffer) stays that
/// user's own copy though the module re-addresses one stanza for every recipient.
/// </summary>
public class ProsodyMulticastModuleTests : MulticastModuleContract
{
    private static readonly XNamespace StreamManagement = "urn:xmpp:sm:3";
    private static readonly XNamespace ClientState = "urn:xmpp:csi:0";

    protected override async Task<XmppHostServer> StartServerAsync() =>
        await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info" });

    protected override void AddWhatTheServerStamps(XElement copy) =>
        copy.SetAttributeValue(XNamespace.Xml + "lang", "en"); // Prosody gives a stanza its stream's language

    [Fact]
    public async Task Stream_management_keeps_each_users_own_copy_and_bounces_it_when_the_session_ends_unacknowledged()
    {
        // The module re-addresses one stanza for every recipient: juliet's queued copy must stay addressed to juliet,
        // not to whoever was the last recipient (romeo).
        await Juliet.SendAsync(new XElement(StreamManagement + "enable"));
        Assert.Equal(StreamManagement + "enabled", (await Juliet.ReceiveAsync(Patience)).Name);

        Component.Send(Multicast("message", "m7", Juliet.FullJid, Romeo.FullJid));
        Assert.Equal("m7", (string?)(await NextStanzaAsync(Juliet)).Attribute("id"));
        Assert.Equal("m7", (string?)(await NextStanzaAsync(Romeo)).Attribute("id"));
        await Juliet.DisconnectAsync(); // without acknowledging m7

        var bounce = await NextToComponentAsync();
        AssertError(bounce, "m7", "recipient-unavailable");
        Assert.Equal(Juliet.FullJid, (string?)bounce.Attribute("from"));
        Assert.Null(await TryNextToComponentAsync());
    }

    [Fact]
    public async Task An_inactive_client_gets_multicast_presence_when_a_message_with_a_body_follows()
    {
        await Juliet.SendAsync(new XElement(ClientState + "inactive"));
        // A message behind it on juliet's stream: once romeo has it, Prosody has taken the state. (Not a round trip to
        // juliet: anything important she receives would keep her active for csi_simple's resume delay.)
        await Juliet.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("type", "chat"), new XAttribute("id", "state-taken"),
            new XAttribute("to", Romeo.FullJid), new XElement(XmppNamespaces.Client + "body", "Going quiet")));
        Assert.Equal("state-taken", (string?)(await Romeo.ReceiveAsync(Patience)).Attribute("id"));

        Component.Send(Multicast("presence", "p1", Juliet.FullJid, Romeo.FullJid));
        Assert.Equal("p1", (string?)(await Romeo.ReceiveAsync(Patience)).Attribute("id"));
        Assert.Null(await Juliet.TryReceiveAsync(Silence)); // held by client state indication

        Component.Send(Multicast("message", "m8", Juliet.FullJid, Romeo.FullJid));
        foreach (var (kind, id) in new[] { ("presence", "p1"), ("message", "m8") })
        {
            var copy = await Juliet.ReceiveAsync(Patience);
            Assert.Equal(kind, copy.Name.LocalName);
            Assert.Equal(id, (string?)copy.Attribute("id"));
            Assert.Equal(Juliet.FullJid, (string?)copy.Attribute("to"));
            AssertNoAddressList(copy);
        }
    }

    /// <summary>The next stanza, past stream management's requests for an acknowledgement.</summary>
    private static async Task<XElement> NextStanzaAsync(XmppTestClient client)
    {
        while (true)
        {
            var element = await client.ReceiveAsync(Patience);
            if (element.Name.Namespace != StreamManagement) return element;
        }
    }
}

/// <summary>All of <see cref="ProsodyMulticastModuleTests"/> with the recipients in the module's compact list.</summary>
public sealed class ProsodyCompactMulticastModuleTests : ProsodyMulticastModuleTests
{
    protected override RecipientListForm Form => RecipientListForm.Compact;
}
