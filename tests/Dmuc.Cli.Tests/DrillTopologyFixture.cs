using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using static Dmuc.Integration.Tests.Muc.DrillTopology;

namespace Dmuc.Cli.Tests;

/// <summary>
/// The three-host <see cref="DrillTopology"/> with the room <see cref="Wallops"/>: Alice on avalon.irc (the primary's
/// host, owner), Wumpus on killrc and BigCheese on vesa (replicas), and three messages. Tests that change rooms make
/// rooms of their own; a test that cuts a link heals it.
/// </summary>
public sealed class DrillTopologyFixture : IAsyncLifetime
{
    public const string Wallops = $"wallops@{MucDomain}";
    public static readonly string[] WallopsMessages = ["Phaedrus, we're all having a truly rotten time.", "Is the split over?", "It is."];

    private readonly List<IAsyncDisposable> _clients = [];

    public DrillTopology Topology { get; private set; } = null!;
    public RoomParticipant Alice { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Topology = await DrillTopology.StartAsync();
        Alice = await OpenRoomAsync(Wallops, $"alice@{Avalon}/laptop", "Alice");
        await EnterAsync(Wallops, $"argl@{Killrc}/laptop", "Wumpus");
        var bigCheese = await EnterAsync(Wallops, $"rubenro@{Vesa}/laptop", "BigCheese");
        foreach (var message in WallopsMessages) await Alice.Client.SayAsync(Wallops, message);
        await bigCheese.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, WallopsMessages[^1]));
    }

    /// <summary>Creates <paramref name="room"/> with <paramref name="jid"/> as its owner, open to others.</summary>
    public async Task<RoomParticipant> OpenRoomAsync(string room, string jid, string nick)
    {
        var owner = await EnterAsync(room, jid, nick);
        await owner.Client.ConfigureRoomAsync(room);
        return owner;
    }

    /// <summary>Logs <paramref name="jid"/> in at its host and enters; the fixture disconnects it at the end.</summary>
    public async Task<RoomParticipant> EnterAsync(string room, string jid, string nick)
    {
        var participant = await Topology.EnterAsync(jid, room, nick);
        _clients.Add(participant);
        return participant;
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        await Topology.DisposeAsync();
    }
}
