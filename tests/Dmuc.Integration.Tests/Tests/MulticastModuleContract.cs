using System.Threading.Channels;
using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// What Dmuc's own multicast module promises on every server it ships one for (deploy/prosody, deploy/ejabberd), checked
/// in a real server driven by a bare component stream (the MUC domain's) and by real users: it delivers the component's
/// multicast to each address once, without the address list, in the order of the component stream, and refuses the
/// whole stanza, with XEP-0033's error, when the sender is not the component or an address is not one of its host's
/// users. Each server's class adds what only that server has, and runs again with <see cref="Form"/> the module's compact
/// recipient list (docs/protocol/multicast.md) instead of XEP-0033's addresses.
/// </summary>
public abstract class MulticastModuleContract : IAsyncLifetime
{
    protected const string Host = "localhost";
    protected const string MucDomain = "conference.localhost";
    private const string From = "verona@" + MucDomain + "/Nurse";
    private static readonly XNamespace Address = MulticastDiscovery.AddressFeature;
    private static readonly XNamespace Compact = MulticastDiscovery.CompactFeature;
    private static readonly XNamespace StanzaId = "urn:xmpp:sid:0";
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    protected static readonly TimeSpan Silence = TimeSpan.FromMilliseconds(700);

    private readonly Channel<XElement> _toComponent = Channel.CreateUnbounded<XElement>();
    private XmppHostServer _server = null!;
    private ComponentConnection _component = null!;

    protected ComponentConnection Component => _component;
    protected XmppTestClient Juliet { get; private set; } = null!;
    protected XmppTestClient Romeo { get; private set; } = null!;

    /// <summary>The server, with the module loaded for <see cref="MucDomain"/> and an external component listener for it.</summary>
    protected abstract Task<XmppHostServer> StartServerAsync();

    /// <summary>What the server adds to a copy besides its 'to' (Prosody: the stream's language).</summary>
    protected virtual void AddWhatTheServerStamps(XElement copy) { }

    /// <summary>How the component's multicasts name their recipients in this run of the contract.</summary>
    protected virtual RecipientListForm Form => RecipientListForm.BlindCopies;

    /// <summary>Whether the server writes a stanza's children in the order it read them (ejabberd does not: below).</summary>
    protected virtual bool KeepsChildOrder => true;

    public async Task InitializeAsync()
    {
        _server = await StartServerAsync();
        var endpoint = _server.ComponentEndpoint;
        _component = await ComponentConnection.ConnectAsync(new ComponentConnectionOptions
        {
            Host = endpoint.Host, Port = endpoint.Port, Domain = endpoint.Domain, Secret = endpoint.Secret,
        });
        _ = _component.RunAsync(stanza => _toComponent.Writer.TryWrite(stanza), _ => { });
        Juliet = await XmppTestClient.ConnectAsync(_server.ClientEndpoint, $"juliet@{Host}/garden", "password");
        Romeo = await XmppTestClient.ConnectAsync(_server.ClientEndpoint, $"romeo@{Host}/balcony", "password");
        foreach (var client in new[] { Juliet, Romeo })
        {
            await client.SendInitialPresenceAsync();
            await ReceiveOwnPresenceAsync(client);
            await DrainAsync(client);
        }
    }

    /// <summary>
    /// The server reflects a user's initial presence to the user: it must have come before a test listens for silence, and on
    /// a loaded machine it took longer than a drain's pause (a test saw it as a stray copy).
    /// </summary>
    private static async Task ReceiveOwnPresenceAsync(XmppTestClient client)
    {
        while ((await client.ReceiveAsync(Patience)) is not { Name.LocalName: "presence" } presence
               || presence.Attribute("from")?.Value != client.FullJid) { }
    }

    [Fact]
    public async Task The_host_advertises_in_order_multicast_with_the_compact_list_and_the_component_finds_it()
    {
        var discovery = new MulticastDiscovery(MucDomain, Host);
        MulticastDiscovery.Step step = new(discovery.Start(), null, false);
        while (!step.Finished)
        {
            foreach (var query in step.Queries) _component.Send(query);
            step = discovery.Receive(await NextToComponentAsync());
        }
        Assert.Equal(new MulticastService(Host, InOrder: true, RecipientListForm.Compact), step.Service);
    }

    [Theory]
    [InlineData("message")]
    [InlineData("presence")]
    public async Task A_multicast_from_the_component_reaches_each_address_once_without_the_address_list(string kind)
    {
        // What needs escaping, in attributes and text, and a child in its own namespace: Prosody's module writes the
        // copies from one rendering of the stanza (deploy/prosody/README.md), which must write what Prosody would.
        var multicast = Multicast(kind, "m1 <&'\">", Juliet.FullJid, Romeo.FullJid);
        multicast.Add(new XElement(StanzaId + "stanza-id", new XAttribute("id", "s1 <&'\">"), new XAttribute("by", "verona@" + MucDomain)));
        multicast.Element(XmppNamespaces.Client + "body")?.SetValue("O Romeo, Romeo & <Juliet>, 'wherefore' art \"thou\"");
        _component.Send(multicast);

        foreach (var client in new[] { Juliet, Romeo })
        {
            var copy = await client.ReceiveAsync(Patience);
            var expected = new XElement(multicast);
            ListOf(expected).Remove();
            expected.SetAttributeValue("to", client.FullJid);
            AddWhatTheServerStamps(expected);
            Assert.Equal(Canonical(expected, KeepsChildOrder).ToString(), Canonical(copy, KeepsChildOrder).ToString());
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
        foreach (var id in ids) _component.Send(MulticastSaying(body, "message", id, Juliet.FullJid, Romeo.FullJid));

        foreach (var client in new[] { Juliet, Romeo })
            foreach (var id in ids)
            {
                var copy = await client.ReceiveAsync(Patience);
                Assert.Equal(id, (string?)copy.Attribute("id"));
                Assert.Equal(client.FullJid, (string?)copy.Attribute("to"));
                Assert.Equal(body, (string?)copy.Element(XmppNamespaces.Client + "body"));
                AssertNoAddressList(copy);
            }
        Assert.Null(await TryNextToComponentAsync());
    }

    [Fact]
    public async Task What_the_component_multicasts_and_what_it_sends_direct_reach_a_user_in_the_order_sent()
    {
        // The promise behind urn:xmpp:tmp:dmuc:0#multicast-in-order: Dmuc sends IQ answers and private messages direct
        // and broadcasts through the module, and a user must get them as the room decided them.
        var ids = new List<string>();
        for (var round = 0; round < 100; round++)
        {
            _component.Send(Multicast("message", $"multicast{round}", Juliet.FullJid, Romeo.FullJid));
            _component.Send(new XElement(XmppNamespaces.Client + "message", new XAttribute("from", From), new XAttribute("to", Juliet.FullJid),
                new XAttribute("type", "chat"), new XAttribute("id", $"direct{round}"), new XElement(XmppNamespaces.Client + "body", "Wherefore")));
            ids.AddRange([$"multicast{round}", $"direct{round}"]);
        }

        foreach (var id in ids) Assert.Equal(id, (string?)(await Juliet.ReceiveAsync(Patience)).Attribute("id"));
        Assert.Null(await TryNextToComponentAsync());
    }

    [Fact]
    public async Task An_address_delivered_to_before_does_not_carry_a_bad_one_through()
    {
        _component.Send(Multicast("message", "m5", Juliet.FullJid));
        Assert.Equal("m5", (string?)(await Juliet.ReceiveAsync(Patience)).Attribute("id"));

        _component.Send(Multicast("message", "m6", Juliet.FullJid, "tybalt@capulet.example/street"));

        AssertError(await NextToComponentAsync(), "m6", "forbidden");
        Assert.Null(await Juliet.TryReceiveAsync(Silence));
    }

    [Fact]
    public async Task Addresses_already_delivered_or_not_for_delivery_get_no_copy()
    {
        // XEP-0033: an address marked delivered was served by an earlier hop; replyto and the like name no recipient.
        // Only XEP-0033's form says either: a compact list names recipients and nothing else.
        var multicast = MulticastIn(RecipientListForm.BlindCopies, "O Romeo, Romeo", "message", "m9", Juliet.FullJid);
        multicast.Element(Address + "addresses")!.Add(
            new XElement(Address + "address", new XAttribute("type", "bcc"), new XAttribute("jid", Romeo.FullJid), new XAttribute("delivered", "true")),
            new XElement(Address + "address", new XAttribute("type", "replyto"), new XAttribute("jid", "tybalt@capulet.example/street")));
        _component.Send(multicast);

        Assert.Equal("m9", (string?)(await Juliet.ReceiveAsync(Patience)).Attribute("id"));
        Assert.Null(await Romeo.TryReceiveAsync(Silence));
        Assert.Null(await TryNextToComponentAsync());
    }

    [Theory]
    [InlineData("tybalt@capulet.example/street", "forbidden")]
    [InlineData(MucDomain, "forbidden")]
    [InlineData("juliet@@localhost", "jid-malformed")]
    public async Task A_multicast_with_one_bad_address_is_refused_whole(string badAddress, string condition)
    {
        _component.Send(Multicast("message", "m2", Juliet.FullJid, badAddress));

        AssertError(await NextToComponentAsync(), "m2", condition);
        Assert.Null(await Juliet.TryReceiveAsync(Silence));
    }

    [Fact]
    public async Task A_multicast_to_more_addresses_than_the_limit_is_not_acceptable()
    {
        var addresses = Enumerable.Range(0, 101).Select(index => $"user{index}@{Host}/r").Append(Juliet.FullJid).ToArray();
        _component.Send(Multicast("message", "m3", addresses));

        AssertError(await NextToComponentAsync(), "m3", "not-acceptable");
        Assert.Null(await Juliet.TryReceiveAsync(Silence));
    }

    [Theory]
    [InlineData("", "jid-malformed")]                                      // an empty list
    [InlineData("{juliet}\t", "jid-malformed")]                           // a tab ends it
    [InlineData("\t{juliet}", "jid-malformed")]                           // a tab starts it
    [InlineData("{juliet}\t\t{romeo}", "jid-malformed")]                 // two tabs in a row
    [InlineData("{juliet}\n{romeo}", "jid-malformed")]                    // another separator: one entry, not a JID
    [InlineData("{juliet}\ttybalt@capulet.example/street", "forbidden")]  // a JID of another host
    [InlineData("{juliet}\t" + MucDomain, "forbidden")]                   // a domain
    [InlineData("{juliet}\tjuliet@@localhost", "jid-malformed")]
    public async Task A_compact_list_with_one_bad_entry_is_refused_whole(string list, string condition)
    {
        var multicast = MulticastIn(RecipientListForm.Compact, "O Romeo, Romeo", "message", "c1");
        multicast.Element(Compact + "recipients")!.Value = list.Replace("{juliet}", Juliet.FullJid).Replace("{romeo}", Romeo.FullJid);
        _component.Send(multicast);

        AssertError(await NextToComponentAsync(), "c1", condition);
        Assert.Null(await Juliet.TryReceiveAsync(Silence));
        Assert.Null(await Romeo.TryReceiveAsync(Silence));
    }

    [Fact]
    public async Task A_compact_list_holds_nothing_but_text()
    {
        var multicast = MulticastIn(RecipientListForm.Compact, "O Romeo, Romeo", "message", "c2", Juliet.FullJid);
        multicast.Element(Compact + "recipients")!.Add(new XElement(Compact + "jid", Romeo.FullJid));
        _component.Send(multicast);

        AssertError(await NextToComponentAsync(), "c2", "jid-malformed");
        Assert.Null(await Juliet.TryReceiveAsync(Silence));
    }

    [Fact]
    public async Task A_stanza_with_two_recipient_lists_is_refused_whichever_they_are()
    {
        var both = MulticastIn(RecipientListForm.Compact, "O Romeo, Romeo", "message", "c3", Juliet.FullJid);
        both.Add(MulticastIn(RecipientListForm.BlindCopies, "", "message", "", Romeo.FullJid).Element(Address + "addresses"));
        var twoCompact = MulticastIn(RecipientListForm.Compact, "O Romeo, Romeo", "message", "c4", Juliet.FullJid);
        twoCompact.Add(new XElement(twoCompact.Element(Compact + "recipients")!) { Value = Romeo.FullJid });
        // A user's own block reflected first, the room's second: neither is to be picked.
        var twoBlocks = MulticastIn(RecipientListForm.BlindCopies, "O Romeo, Romeo", "message", "c5", Romeo.FullJid);
        twoBlocks.Add(MulticastIn(RecipientListForm.BlindCopies, "", "message", "", Juliet.FullJid).Element(Address + "addresses"));

        _component.Send(both);
        _component.Send(twoCompact);
        _component.Send(twoBlocks);

        AssertError(await NextToComponentAsync(), "c3", "bad-request");
        AssertError(await NextToComponentAsync(), "c4", "bad-request");
        AssertError(await NextToComponentAsync(), "c5", "bad-request");
        Assert.Null(await Juliet.TryReceiveAsync(Silence));
        Assert.Null(await Romeo.TryReceiveAsync(Silence));
    }

    [Fact]
    public async Task A_user_may_not_multicast()
    {
        var spam = Multicast("message", "m4", Juliet.FullJid);
        spam.Attribute("from")!.Remove();
        await Romeo.SendAsync(spam);

        AssertError(await Romeo.ReceiveAsync(Patience), "m4", "forbidden");
        Assert.Null(await Juliet.TryReceiveAsync(Silence));
    }

    protected XElement Multicast(string kind, string id, params string[] recipients) =>
        MulticastSaying("O Romeo, Romeo", kind, id, recipients);

    private XElement MulticastSaying(string body, string kind, string id, params string[] recipients) =>
        MulticastIn(Form, body, kind, id, recipients);

    private static XElement MulticastIn(RecipientListForm form, string body, string kind, string id, params string[] recipients) =>
        new(XmppNamespaces.Client + kind, new XAttribute("from", From), new XAttribute("to", Host), new XAttribute("id", id),
            kind == "message" ? new XAttribute("type", "groupchat") : null,
            form == RecipientListForm.Compact
                ? new XElement(Compact + "recipients", string.Join('\t', recipients))
                : new XElement(Address + "addresses", recipients.Select(jid => new XElement(Address + "address", new XAttribute("type", "bcc"), new XAttribute("jid", jid)))),
            kind == "message" ? new XElement(XmppNamespaces.Client + "body", body) : null);

    private static XElement ListOf(XElement multicast) =>
        multicast.Element(Address + "addresses") ?? multicast.Element(Compact + "recipients") ?? throw new ArgumentException("No recipient list");

    protected static void AssertError(XElement reply, string id, string condition)
    {
        Assert.Equal("error", (string?)reply.Attribute("type"));
        Assert.Equal(id, (string?)reply.Attribute("id"));
        Assert.NotNull(reply.Element(XmppNamespaces.Client + "error")?.Element(Ns.Stanzas + condition));
    }

    protected static void AssertNoAddressList(XElement copy)
    {
        Assert.Empty(copy.Descendants(Address + "addresses"));
        Assert.Empty(copy.Descendants(Compact + "recipients"));
    }

    /// <summary>
    /// The element with its attributes in name order and without namespace declarations (neither is meaning), and its
    /// children in name order unless <paramref name="keepChildOrder"/>.
    /// </summary>
    private static XElement Canonical(XElement element, bool keepChildOrder)
    {
        var nodes = element.Nodes().Select(node => node is XElement child ? Canonical(child, keepChildOrder) : node);
        return new(element.Name,
            element.Attributes().Where(attribute => !attribute.IsNamespaceDeclaration).OrderBy(attribute => attribute.Name.ToString(), StringComparer.Ordinal),
            keepChildOrder ? nodes : nodes.OrderBy(node => (node as XElement)?.Name.ToString(), StringComparer.Ordinal));
    }

    protected async Task<XElement> NextToComponentAsync() =>
        await TryNextToComponentAsync(Patience) ?? throw new TimeoutException("The server sent the component nothing");

    protected async Task<XElement?> TryNextToComponentAsync(TimeSpan? wait = null)
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
        await Juliet.DisposeAsync();
        await Romeo.DisposeAsync();
        await _component.DisposeAsync();
        await _server.DisposeAsync();
    }
}
