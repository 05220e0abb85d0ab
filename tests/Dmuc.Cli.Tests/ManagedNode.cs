using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Cli.Tests;

/// <summary>
/// One Dmuc node behind a real Prosody, with its management endpoint on a free loopback port, and the room
/// <see cref="Verona"/> with two occupants and three messages. Tests that change rooms make rooms of their own.
/// </summary>
public sealed class ManagedNode : IAsyncLifetime
{
    public const string Token = "s3cret-test-token";
    public const string Verona = "verona@conference.localhost";
    public const string HostDomain = "localhost";
    public static readonly string[] VeronaMessages = ["But soft!", "What light", "through yonder window breaks?"];

    private ProsodyServer? _prosody;
    private InProcessDmucNode? _node;

    public string Url { get; private set; } = "";
    public string ClusterAddress { get; private set; } = "";
    public XmppTestClient Romeo { get; private set; } = null!;
    public XmppTestClient Juliet { get; private set; } = null!;
    public XmppServerEndpoint ClientEndpoint => _prosody!.ClientEndpoint;

    public async Task InitializeAsync()
    {
        _prosody = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info" });
        var ports = FreeTcpPorts.Pick(2);
        Url = $"http://127.0.0.1:{ports[0]}";
        ClusterAddress = $"akka.ssl.tcp://dmuc@127.0.0.1:{ports[1]}";
        var settings = InProcessDmucNode.PrimarySettings(HostDomain, ports[1]);
        settings["Dmuc:Management:Url"] = Url;
        settings["Dmuc:Management:Token"] = Token;
        _node = await InProcessDmucNode.StartAsync(_prosody.ComponentEndpoint, settings, CancellationToken.None);
        await _prosody.WaitForComponentAsync(TimeSpan.FromSeconds(15));

        Romeo = await XmppTestClient.ConnectAsync(_prosody.ClientEndpoint, "romeo@localhost/balcony", "x");
        Juliet = await XmppTestClient.ConnectAsync(_prosody.ClientEndpoint, "juliet@localhost/garden", "x");
        await OpenRoomAsync(Verona, Romeo, "Romeo");
        await Juliet.JoinRoomAsync(Verona, "Juliet");
        foreach (var message in VeronaMessages) await Romeo.SayAsync(Verona, message);
    }

    /// <summary>Creates <paramref name="room"/> with <paramref name="owner"/> in it, configured so that others may enter.</summary>
    public static async Task OpenRoomAsync(string room, XmppTestClient owner, string nick)
    {
        await owner.JoinRoomAsync(room, nick);
        await owner.ConfigureRoomAsync(room, ("muc#roomconfig_roomname", room.Split('@')[0]));
    }

    public async Task DisposeAsync()
    {
        await Romeo.DisposeAsync();
        await Juliet.DisposeAsync();
        if (_node is not null) await _node.DisposeAsync();
        if (_prosody is not null) await _prosody.DisposeAsync();
    }
}
