using System.Threading.Channels;
using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// deploy/prosody/mod_dmuc_stream_ack in a real Prosody, driven by bare component streams and a real user: what a user
/// sends while the component's next stream comes up waits behind what the last stream left unacknowledged, so the
/// component never sees a newer stanza before an older one handed again (docs/protocol/stream-ack.md §4).
/// </summary>
public sealed class ProsodyStreamAckModuleTests
{
    private const string Room = "verona@conference.localhost";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Silence = TimeSpan.FromMilliseconds(700);

    [Fact]
    public async Task What_a_user_sends_while_the_next_stream_comes_up_reaches_it_after_the_kept_stanzas()
    {
        await using var prosody = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info" });
        await using var romeo = await XmppTestClient.ConnectAsync(prosody.ClientEndpoint, "romeo@localhost/balcony", "password");
        await using var next = await StreamLeavingUnacknowledgedAsync(prosody, romeo, [Groupchat("m1")]);

        await romeo.SendAsync(Groupchat("m2"));
        Assert.Null(await next.TryReceiveAsync(Silence));

        next.Send(StreamAckProtocol.Enable(prosody.Options.MucDomain));
        Assert.Equal(1, StreamAckProtocol.ResentAfter(await next.ReceiveAsync()));
        var resent = await next.ReceiveAsync();
        Assert.Equal("m1", (string?)resent.Attribute("id"));
        // Dated when it was first handed, for the room (a split replica's previous life may have answered it then); m2 never was.
        var (_, firstHanded) = StreamAckProtocol.FirstHanded(resent, prosody.Options.MucDomain);
        Assert.InRange(firstHanded!.Value, DateTimeOffset.UtcNow - Patience, DateTimeOffset.UtcNow);
        var waited = await next.ReceiveAsync();
        Assert.Equal("m2", (string?)waited.Attribute("id"));
        Assert.Null(StreamAckProtocol.FirstHanded(waited, prosody.Options.MucDomain).HandedAt);
        Assert.Null(await romeo.TryReceiveAsync(Silence));
    }

    [Fact]
    public async Task What_reaches_a_stream_before_it_enables_is_kept_for_the_next_when_it_dies_though_nothing_was_left_over()
    {
        await using var prosody = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info" });
        await using var romeo = await XmppTestClient.ConnectAsync(prosody.ClientEndpoint, "romeo@localhost/balcony", "password");
        await using (var killedBeforeEnabling = await StreamLeavingUnacknowledgedAsync(prosody, romeo, []))
        {
            await romeo.SendAsync(Groupchat("m1"));
            Assert.Null(await killedBeforeEnabling.TryReceiveAsync(Silence));
        }
        await using var next = await BareComponent.ConnectAsync(prosody);

        next.Send(StreamAckProtocol.Enable(prosody.Options.MucDomain));
        Assert.Equal(1, StreamAckProtocol.ResentAfter(await next.ReceiveAsync()));
        Assert.Equal("m1", (string?)(await next.ReceiveAsync()).Attribute("id"));
        Assert.Null(await romeo.TryReceiveAsync(Silence));
    }

    [Fact]
    public async Task A_next_stream_that_never_enables_gets_what_waited_in_order_and_the_kept_stanzas_bounce()
    {
        var options = new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info", StreamAckEnableWait = TimeSpan.FromSeconds(1) };
        await using var prosody = await ProsodyServer.StartAsync(options);
        await using var romeo = await XmppTestClient.ConnectAsync(prosody.ClientEndpoint, "romeo@localhost/balcony", "password");
        await using var plain = await StreamLeavingUnacknowledgedAsync(prosody, romeo, [Groupchat("m1")]);

        await romeo.SendAsync(Groupchat("m2"));
        await romeo.SendAsync(Groupchat("m3"));

        var bounced = await romeo.ReceiveAsync(Patience);
        Assert.Equal(("m1", "error"), ((string?)bounced.Attribute("id"), (string?)bounced.Attribute("type")));
        Assert.NotNull(bounced.Descendants(XName.Get("remote-server-timeout", "urn:ietf:params:xml:ns:xmpp-stanzas")).SingleOrDefault());
        Assert.Equal("m2", (string?)(await plain.ReceiveAsync()).Attribute("id"));
        Assert.Equal("m3", (string?)(await plain.ReceiveAsync()).Attribute("id"));
        await romeo.SendAsync(Groupchat("m4"));
        Assert.Equal("m4", (string?)(await plain.ReceiveAsync()).Attribute("id"));
    }

    [Fact]
    public async Task A_stanza_the_component_marked_served_comes_again_with_the_mark_and_a_users_own_mark_is_not_kept()
    {
        await using var prosody = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info" });
        await using var romeo = await XmppTestClient.ConnectAsync(prosody.ClientEndpoint, "romeo@localhost/balcony", "password");
        var forged = Groupchat("m3");
        forged.Add(StreamAckProtocol.Served(1));
        await using var next = await StreamLeavingUnacknowledgedAsync(prosody, romeo, [Groupchat("m1"), Groupchat("m2"), forged], markedServed: [1]);

        next.Send(StreamAckProtocol.Enable(prosody.Options.MucDomain));
        Assert.Equal(3, StreamAckProtocol.ResentAfter(await next.ReceiveAsync()));
        var resent = new[] { await next.ReceiveAsync(), await next.ReceiveAsync(), await next.ReceiveAsync() };
        Assert.Equal([("m1", true), ("m2", false), ("m3", false)],
            resent.Select(stanza => ((string?)stanza.Attribute("id"), StreamAckProtocol.TakeServedMark(stanza, resent: true))));
    }

    [Fact]
    public async Task A_stanza_handed_a_third_time_is_still_dated_when_it_was_first_handed()
    {
        await using var prosody = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info" });
        await using var romeo = await XmppTestClient.ConnectAsync(prosody.ClientEndpoint, "romeo@localhost/balcony", "password");
        DateTimeOffset? firstHanded;
        await using (var second = await StreamLeavingUnacknowledgedAsync(prosody, romeo, [Groupchat("m1")]))
        {
            // The module dates to the second: the second life takes it over a second after it was first handed.
            await Task.Delay(TimeSpan.FromSeconds(1.2));
            second.Send(StreamAckProtocol.Enable(prosody.Options.MucDomain));
            Assert.Equal(1, StreamAckProtocol.ResentAfter(await second.ReceiveAsync()));
            firstHanded = StreamAckProtocol.FirstHanded(await second.ReceiveAsync(), prosody.Options.MucDomain).HandedAt;
        }
        await using var third = await BareComponent.ConnectAsync(prosody);

        third.Send(StreamAckProtocol.Enable(prosody.Options.MucDomain));
        Assert.Equal(1, StreamAckProtocol.ResentAfter(await third.ReceiveAsync()));
        var again = await third.ReceiveAsync();
        Assert.Equal(("m1", firstHanded), ((string?)again.Attribute("id"), StreamAckProtocol.FirstHanded(again, prosody.Options.MucDomain).HandedAt));
        Assert.NotNull(firstHanded);
    }

    [Fact]
    public async Task A_stanza_the_component_marked_served_outlives_kill_9s_of_the_server_and_comes_again_marked_and_dated()
    {
        // A split replica echoed it: the room is still to have it, and nothing else holds it (chaos seed 2027: its node died
        // twice and then its Prosody, and 32 echoed messages were gone).
        await using var prosody = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info" });
        DateTimeOffset? firstHanded;
        await using (var romeo = await XmppTestClient.ConnectAsync(prosody.ClientEndpoint, "romeo@localhost/balcony", "password"))
        await using (var served = await BareComponent.ConnectAsync(prosody))
        {
            served.Send(StreamAckProtocol.Enable(prosody.Options.MucDomain));
            Assert.Equal(0, StreamAckProtocol.ResentAfter(await served.ReceiveAsync()));
            foreach (var id in new[] { "m1", "m2" })
            {
                await romeo.SendAsync(Groupchat(id));
                Assert.Equal(id, (string?)(await served.ReceiveAsync()).Attribute("id"));
            }
            served.Send(StreamAckProtocol.Served(1));
            await Task.Delay(Silence);
            await prosody.KillAndRestartAsync();
        }
        await using (var secondLife = await BareComponent.ConnectAsync(prosody))
        {
            secondLife.Send(StreamAckProtocol.Enable(prosody.Options.MucDomain));
            // m2 was not served: it was in this server's memory alone, Prosody's to lose (stream-ack.md §6).
            Assert.Equal(1, StreamAckProtocol.ResentAfter(await secondLife.ReceiveAsync()));
            var again = await secondLife.ReceiveAsync();
            firstHanded = StreamAckProtocol.FirstHanded(again, prosody.Options.MucDomain).HandedAt;
            Assert.Equal(("m1", true), ((string?)again.Attribute("id"), StreamAckProtocol.TakeServedMark(again, resent: true)));
            await prosody.KillAndRestartAsync();
        }
        await using var thirdLife = await BareComponent.ConnectAsync(prosody);

        thirdLife.Send(StreamAckProtocol.Enable(prosody.Options.MucDomain));
        Assert.Equal(1, StreamAckProtocol.ResentAfter(await thirdLife.ReceiveAsync()));
        var third = await thirdLife.ReceiveAsync();
        Assert.Equal(("m1", true, firstHanded), ((string?)third.Attribute("id"), StreamAckProtocol.TakeServedMark(third, resent: true),
            StreamAckProtocol.FirstHanded(third, prosody.Options.MucDomain).HandedAt));
        Assert.NotNull(firstHanded);

        // Acknowledged, it is gone for good: the next restart hands nothing again.
        thirdLife.Send(StreamAckProtocol.Ack(1));
        await Task.Delay(Silence);
        await prosody.KillAndRestartAsync();
        await using var fourthLife = await BareComponent.ConnectAsync(prosody);
        fourthLife.Send(StreamAckProtocol.Enable(prosody.Options.MucDomain));
        Assert.Equal(0, StreamAckProtocol.ResentAfter(await fourthLife.ReceiveAsync()));
    }

    /// <summary>
    /// A stream enables acknowledgements, takes what Romeo sends, marks the stanzas numbered <paramref name="markedServed"/> served, and
    /// closes without acknowledging any; the next stream is in, not enabled.
    /// </summary>
    private static async Task<BareComponent> StreamLeavingUnacknowledgedAsync(ProsodyServer prosody, XmppTestClient romeo, IReadOnlyList<XElement> sent,
        IReadOnlyList<long>? markedServed = null)
    {
        await using (var first = await BareComponent.ConnectAsync(prosody))
        {
            first.Send(StreamAckProtocol.Enable(prosody.Options.MucDomain));
            Assert.Equal(0, StreamAckProtocol.ResentAfter(await first.ReceiveAsync()));
            foreach (var stanza in sent)
            {
                await romeo.SendAsync(stanza);
                Assert.Equal((string?)stanza.Attribute("id"), (string?)(await first.ReceiveAsync()).Attribute("id"));
            }
            foreach (var number in markedServed ?? []) first.Send(StreamAckProtocol.Served(number));
        }
        return await BareComponent.ConnectAsync(prosody);
    }

    private static XElement Groupchat(string id) => new(Ns.Client + "message", new XAttribute("to", Room), new XAttribute("type", "groupchat"),
        new XAttribute("id", id), new XElement(Ns.Client + "body", id));

    /// <summary>The MUC domain's component stream, and what Prosody writes to it.</summary>
    private sealed class BareComponent(ComponentConnection connection) : IAsyncDisposable
    {
        private readonly Channel<XElement> _received = Channel.CreateUnbounded<XElement>();

        /// <summary>Prosody refuses a second stream of the domain until it has seen the last one end: tried again until it takes it.</summary>
        public static async Task<BareComponent> ConnectAsync(ProsodyServer prosody)
        {
            var endpoint = prosody.ComponentEndpoint;
            var options = new ComponentConnectionOptions { Host = endpoint.Host, Port = endpoint.Port, Domain = endpoint.Domain, Secret = endpoint.Secret };
            var deadline = DateTime.UtcNow + Patience;
            while (true)
            {
                try
                {
                    var component = new BareComponent(await ComponentConnection.ConnectAsync(options));
                    _ = component.ReadAsync();
                    return component;
                }
                catch (Exception) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
        }

        private Task ReadAsync() => connection.RunAsync(stanza => _received.Writer.TryWrite(stanza), _ => { });

        public void Send(XElement stanza) => connection.Send(stanza);

        public async Task<XElement> ReceiveAsync()
        {
            using var timeout = new CancellationTokenSource(Patience);
            return await _received.Reader.ReadAsync(timeout.Token);
        }

        public async Task<XElement?> TryReceiveAsync(TimeSpan wait)
        {
            using var timeout = new CancellationTokenSource(wait);
            try
            {
                return await _received.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
