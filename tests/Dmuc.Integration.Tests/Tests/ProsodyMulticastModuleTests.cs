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
        _component.Send(Multicast(kind, "m1", _juliet.FullJid, _romeo.FullJid));

        foreach (var client in new[] { _juliet, _romeo })
        {
            var copy = await client.ReceiveAsync(Patience);
            Assert.Equal(kind, copy.Name.LocalName);
            Assert.Equal(client.FullJid, (string?)copy.Attribute("to"));
            Assert.Equal(From, (string?)copy.Attribute("from"));
            Assert.Equal("m1", (string?)copy.Attribute("id"));
            Assert.Empty(copy.Descendants(Address + "addresses"));
            Assert.Null(await client.TryReceiveAsync(Silence));
        }
        Assert.Null(await TryNextToComponentAsync());
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
        new(XmppNamespaces.Client + kind, new XAttribute("from", From), new XAttribute("to", Host), new XAttribute("id", id),
            kind == "message" ? new XAttribute("type", "groupchat") : null,
            new XElement(Address + "addresses", recipients.Select(jid => new XElement(Address + "address", new XAttribute("type", "bcc"), new XAttribute("jid", jid)))),
            kind == "message" ? new XElement(XmppNamespaces.Client + "body", "O Romeo, Romeo") : null);

    private static void AssertError(XElement reply, string id, string condition)
    {
        Assert.Equal("error", (string?)reply.Attribute("type"));
        Assert.Equal(id, (string?)reply.Attribute("id"));
        Assert.NotNull(reply.Element(XmppNamespaces.Client + "error")?.Element(Ns.Stanzas + condition));
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
