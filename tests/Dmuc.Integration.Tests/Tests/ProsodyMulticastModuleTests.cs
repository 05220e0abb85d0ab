using System.Threading.Channels;
using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// deploy/prosody/mod_dmuc_multicast in a real Prosody, driven by a bare component stream (the MUC domain's) and by
/// real users: it delivers the component's multicast to each address without the address list, and refuses the whole
/// stanza, with XEP-0033's error, when the sender is not the component or an address is not one of its host's users.
/// </summary>
public sealed class ProsodyMulticastModuleTests : IAsyncLifetime
{
    private const string Host = "localhost";
    private const string From = "verona@conference.localhost/Nurse";
    private static readonly XNamespace Address = MulticastDiscovery.AddressFeature;
    private static readonly XNamespace StreamManagement = "urn:xmpp:sm:3";
    private static readonly XNamespace ClientState = "urn:xmpp:csi:0";
    private static readonly XNamespace StanzaId = "urn:xmpp:sid:0";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Silence = TimeSpan.FromMilliseconds(700);

    private readonly Channel<XElement> _toComponent = Channel.CreateUnbounded<XElement>();
    private ProsodyServer _prosody = null!;
    private ComponentConnection _component = null!;
    private XmppTestClient _juliet = null!;
    private XmppTestClient _romeo = null!;

    public async Task InitializeAsync()
    {
        _prosody = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info" });
        var endpoint = _prosody.ComponentEndpoint;
        _component = await ComponentConnection.ConnectAsync(new ComponentConnectionOptions
        {
            Host = endpoint.Host, Port = endpoint.Port, Domain = endpoint.Domain, Secret = endpoint.Secret,
        });
        _ = _component.RunAsync(stanza => _toComponent.Writer.TryWrite(stanza), _ => { });
        _juliet = await XmppTestClient.ConnectAsync(_prosody.ClientEndpoint, $"juliet@{Host}/garden", "password");
        _romeo = await XmppTestClient.ConnectAsync(_prosody.ClientEndpoint, $"romeo@{Host}/balcony", "password");
        foreach (var client in new[] { _juliet, _romeo })
        {
            await client.SendInitialPresenceAsync();
            await DrainAsync(client);
        }
    }

    [Fact]
    public async Task The_host_advertises_in_order_multicast_and_the_component_finds_it()
    {
        var discovery = new MulticastDiscovery(_prosody.ComponentEndpoint.Domain, Host);
        MulticastDiscovery.Step step = new(discovery.Start(), null, false);
        while (!step.Finished)
        {
            foreach (var query in step.Queries) _component.Send(query);
            step = discovery.Receive(await NextToComponentAsync());
        }
        Assert.Equal(new MulticastService(Host, InOrder: true), step.Service);
    }

    [Theory]
    [InlineData("message")]
    [InlineData("presence")]
    public async Task A_multicast_from_the_component_reaches_each_address_once_without_the_address_list(string kind)
    {
        // What needs escaping, in attributes and text, and a child in its own namespace: the module writes the copies
        // from one rendering of the stanza (deploy/prosody/README.md), which must write what Prosody would.
        var multicast = Multicast(kind, "m1 <&'\">", _juliet.FullJid, _romeo.FullJid);
        multicast.Add(new XElement(StanzaId + "stanza-id", new XAttribute("id", "s1 <&'\">"), new XAttribute("by", "verona@conference.localhost")));
        multicast.Element(XmppNamespaces.Client + "body")?.SetValue("O Romeo, Romeo & <Juliet>, 'wherefore' art \"thou\"");
        _component.Send(multicast);

        foreach (var client in new[] { _juliet, _romeo })
        {
            var copy = await client.ReceiveAsync(Patience);
            var expected = new XElement(multicast);
            expected.Element(Address + "addresses")!.Remove();
            expected.SetAttributeValue("to", client.FullJid);
            expected.SetAttributeValue(XNamespace.Xml + "lang", "en"); // Prosody gives a stanza its stream's language
            Assert.Equal(Canonical(expected).ToString(), Canonical(copy).ToString());
            Assert.Null(await client.TryReceiveAsync(Silence));
        }
        Assert.Null(await TryNextToComponentAsync());
    }

    [Fact]
    public async Task Multicasts_sent_back_to_back_reach_each_address_whole_and_in_order()
    {
        // Each larger than what Prosody reads from a connection at once by default (4 KiB), together more than the
        // module's own read size for the component (256 KiB): stanzas cut across reads either way.
        var ids = Enumerable.Range(0, 60).Select(index => $"burst{index}").ToList();
        var body = new string('x', 5_000);
        foreach (var id in ids) _component.Send(MulticastSaying(body, "message", id, _juliet.FullJid, _romeo.FullJid));

        foreach (var client in new[] { _juliet, _romeo })
            foreach (var id in ids)
            {
                var copy = await client.ReceiveAsync(Patience);
                Assert.Equal(id, (string?)copy.Attribute("id"));
                Assert.Equal(client.FullJid, (string?)copy.Attribute("to"));
                Assert.Equal(body, (string?)copy.Element(XmppNamespaces.Client + "body"));
                Assert.Empty(copy.Descendants(Address + "addresses"));
            }
        Assert.Null(await TryNextToComponentAsync());
    }

    [Fact]
    public async Task An_address_delivered_to_before_does_not_carry_a_bad_one_through()
    {
        _component.Send(Multicast("message", "m5", _juliet.FullJid));
        Assert.Equal("m5", (string?)(await _juliet.ReceiveAsync(Patience)).Attribute("id"));

        _component.Send(Multicast("message", "m6", _juliet.FullJid, "tybalt@capulet.example/street"));

        AssertError(await NextToComponentAsync(), "m6", "forbidden");
        Assert.Null(await _juliet.TryReceiveAsync(Silence));
    }

    [Fact]
    public async Task Stream_management_keeps_each_users_own_copy_and_bounces_it_when_the_session_ends_unacknowledged()
    {
        // The module re-addresses one stanza for every recipient: juliet's queued copy must stay addressed to juliet,
        // not to whoever was the last recipient (romeo).
        await _juliet.SendAsync(new XElement(StreamManagement + "enable"));
        Assert.Equal(StreamManagement + "enabled", (await _juliet.ReceiveAsync(Patience)).Name);

        _component.Send(Multicast("message", "m7", _juliet.FullJid, _romeo.FullJid));
        Assert.Equal("m7", (string?)(await NextStanzaAsync(_juliet)).Attribute("id"));
        Assert.Equal("m7", (string?)(await NextStanzaAsync(_romeo)).Attribute("id"));
        await _juliet.DisconnectAsync(); // without acknowledging m7

        var bounce = await NextToComponentAsync();
        AssertError(bounce, "m7", "recipient-unavailable");
        Assert.Equal(_juliet.FullJid, (string?)bounce.Attribute("from"));
        Assert.Null(await TryNextToComponentAsync());
    }

    [Fact]
    public async Task An_inactive_client_gets_multicast_presence_when_a_message_with_a_body_follows()
    {
        await _juliet.SendAsync(new XElement(ClientState + "inactive"));
        // A message behind it on juliet's stream: once romeo has it, Prosody has taken the state. (Not a round trip to
        // juliet: anything important she receives would keep her active for csi_simple's resume delay.)
        await _juliet.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("type", "chat"), new XAttribute("id", "state-taken"),
            new XAttribute("to", _romeo.FullJid), new XElement(XmppNamespaces.Client + "body", "Going quiet")));
        Assert.Equal("state-taken", (string?)(await _romeo.ReceiveAsync(Patience)).Attribute("id"));

        _component.Send(Multicast("presence", "p1", _juliet.FullJid, _romeo.FullJid));
        Assert.Equal("p1", (string?)(await _romeo.ReceiveAsync(Patience)).Attribute("id"));
        Assert.Null(await _juliet.TryReceiveAsync(Silence)); // held by client state indication

        _component.Send(Multicast("message", "m8", _juliet.FullJid, _romeo.FullJid));
        foreach (var (kind, id) in new[] { ("presence", "p1"), ("message", "m8") })
        {
            var copy = await _juliet.ReceiveAsync(Patience);
            Assert.Equal(kind, copy.Name.LocalName);
            Assert.Equal(id, (string?)copy.Attribute("id"));
            Assert.Equal(_juliet.FullJid, (string?)copy.Attribute("to"));
            Assert.Empty(copy.Descendants(Address + "addresses"));
        }
    }

    [Theory]
    [InlineData("tybalt@capulet.example/street", "forbidden")]
    [InlineData("conference.localhost", "forbidden")]
    [InlineData("juliet@@localhost", "jid-malformed")]
    public async Task A_multicast_with_one_bad_address_is_refused_whole(string badAddress, string condition)
    {
        _component.Send(Multicast("message", "m2", _juliet.FullJid, badAddress));

        AssertError(await NextToComponentAsync(), "m2", condition);
        Assert.Null(await _juliet.TryReceiveAsync(Silence));
    }

    [Fact]
    public async Task A_multicast_to_more_addresses_than_the_limit_is_not_acceptable()
    {
        var addresses = Enumerable.Range(0, 101).Select(index => $"user{index}@{Host}/r").Append(_juliet.FullJid).ToArray();
        _component.Send(Multicast("message", "m3", addresses));

        AssertError(await NextToComponentAsync(), "m3", "not-acceptable");
        Assert.Null(await _juliet.TryReceiveAsync(Silence));
    }

    [Fact]
    public async Task A_user_may_not_multicast()
    {
        var spam = Multicast("message", "m4", _juliet.FullJid);
        spam.Attribute("from")!.Remove();
        await _romeo.SendAsync(spam);

        AssertError(await _romeo.ReceiveAsync(Patience), "m4", "forbidden");
        Assert.Null(await _juliet.TryReceiveAsync(Silence));
    }

    private static XElement Multicast(string kind, string id, params string[] recipients) =>
        MulticastSaying("O Romeo, Romeo", kind, id, recipients);

    private static XElement MulticastSaying(string body, string kind, string id, params string[] recipients) =>
        new(XmppNamespaces.Client + kind, new XAttribute("from", From), new XAttribute("to", Host), new XAttribute("id", id),
            kind == "message" ? new XAttribute("type", "groupchat") : null,
            new XElement(Address + "addresses", recipients.Select(jid => new XElement(Address + "address", new XAttribute("type", "bcc"), new XAttribute("jid", jid)))),
            kind == "message" ? new XElement(XmppNamespaces.Client + "body", body) : null);

    private static void AssertError(XElement reply, string id, string condition)
    {
        Assert.Equal("error", (string?)reply.Attribute("type"));
        Assert.Equal(id, (string?)reply.Attribute("id"));
        Assert.NotNull(reply.Element(XmppNamespaces.Client + "error")?.Element(Ns.Stanzas + condition));
    }

    /// <summary>The element with its attributes in name order and without namespace declarations (neither is meaning).</summary>
    private static XElement Canonical(XElement element) =>
        new(element.Name,
            element.Attributes().Where(attribute => !attribute.IsNamespaceDeclaration).OrderBy(attribute => attribute.Name.ToString(), StringComparer.Ordinal),
            element.Nodes().Select(node => node is XElement child ? Canonical(child) : node));

    /// <summary>The next stanza, past stream management's requests for an acknowledgement.</summary>
    private static async Task<XElement> NextStanzaAsync(XmppTestClient client)
    {
        while (true)
        {
            var element = await client.ReceiveAsync(Patience);
            if (element.Name.Namespace != StreamManagement) return element;
        }
    }

    private async Task<XElement> NextToComponentAsync() =>
        await TryNextToComponentAsync(Patience) ?? throw new TimeoutException("Prosody sent the component nothing");

    private async Task<XElement?> TryNextToComponentAsync(TimeSpan? wait = null)
    {
        using var timeout = new CancellationTokenSource(wait ?? Silence);
        try
        {
            return await _toComponent.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task DrainAsync(XmppTestClient client)
    {
        while (await client.TryReceiveAsync(TimeSpan.FromMilliseconds(200)) is not null) { }
    }

    public async Task DisposeAsync()
    {
        await _juliet.DisposeAsync();
        await _romeo.DisposeAsync();
        await _component.DisposeAsync();
        await _prosody.DisposeAsync();
    }
}
