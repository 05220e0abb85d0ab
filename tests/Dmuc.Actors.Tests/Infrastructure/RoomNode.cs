using System.Xml.Linq;
using Akka.Actor;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Infrastructure;

/// <summary>What a node runs for its rooms: a room directory in an actor system, sending into a recording sink.</summary>
public sealed class RoomNode
{
    // These tests send as fast as they can; the per-user stanza rate has tests of its own (OccupantStanzaRateTests).
    public static readonly MucServiceOptions ServiceOptions =
        new(Service, new HashSet<Jid> { Jid.Parse("admin@localhost") }) { OccupantStanzaRate = null };

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public RoomNode(ActorSystem system, RoomActorSettings settings, MucServiceOptions options)
    {
        System = system;
        Options = options;
        Directory = system.ActorOf(RoomDirectory.Props(options, Sink, new ClusterHosts(ownHost: null), settings), RoomDirectory.Name);
    }

    public ActorSystem System { get; }
    public MucServiceOptions Options { get; }
    public IActorRef Directory { get; }
    public RecordingSink Sink { get; } = new();

    /// <summary>Hands a stanza to the directory as the component connection does.</summary>
    public void Send(XElement stanza) => Directory.Tell(new RouteStanza(stanza));

    public Task<RoomInspection> InspectAsync(string room = Room) =>
        Directory.Ask<RoomInspection>(new InspectRoom(Jid.Parse(room)), AskTimeout);

    /// <summary>Joins and waits for the joiner's own presence (status 110), which ends the join sequence.</summary>
    public async Task JoinAsync(string fullJid, string nick, string room = Room)
    {
        Send(RoomStanzas.Join(fullJid, nick, room));
        await Sink.WaitForAsync(fullJid, stanza => stanza.Name.LocalName == "presence" && stanza.HasStatus(110));
    }

    public async Task<XElement> SayAsync(string fullJid, string body, string room = Room)
    {
        Send(Say(fullJid, body, room: room));
        return await Sink.WaitForAsync(fullJid, stanza => stanza.IsGroupchatWithBody(body));
    }

    /// <summary>The owner creates the room and submits the configuration form (persistent unless told otherwise).</summary>
    public async Task CreateRoomAsync(string room = Room, params (string Field, string Value)[] extraConfig)
    {
        await JoinAsync(Owner, OwnerNick, room);
        await SubmitAsync(Owner, Configure(Owner, room, [("muc#roomconfig_persistentroom", "1"), .. extraConfig]));
    }

    /// <summary>Sends an iq and waits for its result; an error reply fails the test with the reply in the message.</summary>
    public async Task SubmitAsync(string fromJid, XElement iq)
    {
        var id = iq.Attribute("id")!.Value;
        Send(iq);
        var reply = await Sink.WaitForAsync(fromJid, stanza => stanza.Name.LocalName == "iq" && stanza.Attribute("id")?.Value == id);
        if (!reply.IsIqResult(id)) throw new InvalidOperationException($"iq {id} was refused: {reply}");
    }
}
