using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// The external-component path that Dmuc will take, exercised with a stand-in component that answers every
/// iq with a result: Prosody's component config, the secret, the wait for the handshake and the teardown.
/// </summary>
public sealed class ExternalComponentHookTests
{
    private static readonly XNamespace ComponentAccept = "jabber:component:accept";

    [Fact]
    public async Task Client_iq_to_the_MUC_domain_reaches_the_external_component_and_its_answer_comes_back()
    {
        var muc = MucUnderTest.ExternalComponent("iq-answering stand-in", StartIqAnsweringComponentAsync);
        await using var environment = await MucTestEnvironment.StartAsync(muc);
        await using var client = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost", "x");

        await client.SendAsync($"<iq type='get' id='q1' to='{environment.Prosody.Options.MucDomain}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");

        var answer = await client.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("result", (string?)answer.Attribute("type"));
        Assert.Equal("q1", (string?)answer.Attribute("id"));
        Assert.Equal(environment.Prosody.Options.MucDomain, (string?)answer.Attribute("from"));
    }

    /// <summary>XEP-0114: stream to the component port, handshake = hex SHA-1 of stream id + secret.</summary>
    private static async Task<IAsyncDisposable> StartIqAnsweringComponentAsync(ComponentEndpoint endpoint, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(endpoint.Host, endpoint.Port, cancellationToken);
        var stream = tcp.GetStream();
        async Task Send(string xml) => await stream.WriteAsync(Encoding.UTF8.GetBytes(xml), cancellationToken);

        await Send($"<stream:stream xmlns='{ComponentAccept.NamespaceName}' xmlns:stream='http://etherx.jabber.org/streams' to='{endpoint.Domain}'>");
        var reader = new XmppStreamReader(stream);
        var streamId = await reader.ReadStreamHeaderAsync();
        var digest = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(streamId + endpoint.Secret)));
        await Send($"<handshake>{digest}</handshake>");
        var accepted = await reader.ReadElementAsync(cancellationToken);
        Assert.Equal(ComponentAccept + "handshake", accepted?.Name);

        var answering = Task.Run(async () =>
        {
            while (await reader.ReadElementAsync(CancellationToken.None) is { } stanza)
            {
                if (stanza.Name.LocalName == "iq" && (string?)stanza.Attribute("type") is "get" or "set")
                {
                    await Send($"<iq type='result' id='{stanza.Attribute("id")?.Value}' from='{stanza.Attribute("to")?.Value}' to='{stanza.Attribute("from")?.Value}'/>");
                }
            }
        });

        return AsyncDisposable.Create(async () =>
        {
            tcp.Dispose();
            await answering.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            reader.Dispose();
        });
    }
}
